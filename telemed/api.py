"""The JSON API: one NinjaAPI, a router per app, OpenAPI at /api/docs.

Every error leaves as JSON ``{"error": code, "message": text, ...}`` with a 4xx status: domain
errors carry their own, malformed input is 422, and nothing a client sends produces a 500.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from telemed import __version__
from telemed.core.auth import API_AUTH
from telemed.core.errors import DomainError

api = NinjaAPI(
    title="telemed API",
    version=__version__,
    description="Telemedicine collaboration platform. Authenticate with a session or an OAuth2 bearer token.",
    auth=API_AUTH,
    urls_namespace="api",
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, **extra: object
) -> HttpResponse:
    return api.create_response(request, {"error": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, **exc.details)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _error(request, 422, "validation_failed", "The request is not valid", errors=exc.errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", "Sign in or send a valid bearer token")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "too_large", "The request body is too large")


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return _error(request, 400, "bad_request", "The request is malformed")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


def _mount() -> None:
    from telemed.accounts.api import router as accounts_router
    from telemed.audit.api import router as audit_router
    from telemed.consultations.api import router as consultations_router
    from telemed.consultations.api_media import router as consultation_media_router
    from telemed.dicom.api import router as dicom_router
    from telemed.directory.api import router as directory_router
    from telemed.ecg.api import router as ecg_router
    from telemed.exchange.api import router as exchange_router
    from telemed.imaging.api import router as imaging_router
    from telemed.notifications.api import router as notifications_router
    from telemed.pathology.api import router as pathology_router
    from telemed.patients.api import router as patients_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/directory", directory_router)
    api.add_router("/patients", patients_router)
    api.add_router("/audit", audit_router)
    api.add_router("/consultations", consultations_router)
    api.add_router("/consultations", consultation_media_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/dicom", dicom_router)
    api.add_router("/imaging", imaging_router)
    api.add_router("/ecg", ecg_router)
    api.add_router("/pathology", pathology_router)
    api.add_router("/exchange", exchange_router)


_mount()
