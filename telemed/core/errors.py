"""Typed domain errors. The API and the pages turn each into a clear 4xx answer."""

from __future__ import annotations

from django.http import JsonResponse


class DomainError(Exception):
    """Base of every error a user can cause. ``status`` is the HTTP status it maps to."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    """Missing, or outside the caller's scope: the two are deliberately indistinguishable."""

    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


def error_response(status: int, code: str, message: str, **extra: object) -> JsonResponse:
    """A refusal from a plain Django view, shaped like the JSON API's:
    ``{"error": code, "message": message, ...}`` with a 4xx status."""
    return JsonResponse({"error": code, "message": message, **extra}, status=status)
