"""Request-level guards: body size before parsing; and the audit context of each request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from telemed.core import body_limits, context


def refuse(request: HttpRequest, status: int, body: dict[str, object]) -> HttpResponse:
    """A refusal at the border, written as the path's border writes errors."""
    content_type, content = body_limits.rendered(request.path, status, body)
    return HttpResponse(content, status=status, content_type=content_type)


class RequestSizeLimitMiddleware:
    """Refuse an oversized body by its declared length, before anything reads it (the limits
    are in core/body_limits.py; under ASGI the BodySizeGuard answers first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared and not declared.strip().isdigit():
            return refuse(
                request, 400, {"error": "bad_request", "message": "Invalid Content-Length"}
            )
        limit = body_limits.too_large(request.path, declared)
        if limit is not None:
            return refuse(request, 413, body_limits.refusal(limit))
        return self.get_response(request)


class NulByteGuardMiddleware:
    """Refuse NUL characters in query strings, JSON and form bodies with a clear 400.

    No clinical text needs them, and PostgreSQL cannot store them: let through, they fail
    deep inside a query as a 500. Uploaded file contents (raw bodies, multipart files) are
    not inspected: binary content may hold NUL bytes.
    """

    _JSON_NUL = (b"\\u0000", b"\x00")
    _FORM_NUL = (b"%00", b"\x00")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            return refuse(
                request,
                400,
                {"error": "bad_request", "message": "The request contains a NUL character"},
            )
        return self.get_response(request)

    def _has_nul(self, request: HttpRequest) -> bool:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return True
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            return any(marker in request.body for marker in self._JSON_NUL)
        if content_type == "application/x-www-form-urlencoded":
            return any(marker in request.body for marker in self._FORM_NUL)
        if content_type == "multipart/form-data":
            # The text fields only: uploaded files may hold NUL bytes legitimately.
            return any("\x00" in value for values in request.POST.lists() for value in values[1])
        return False


class RequestContextMiddleware:
    """Make the source address and channel of this request known to the audit service."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith(("/api/", "/fhir/", "/dicomweb/")) else "web"
        meta = context.RequestMeta(source_ip=client_ip(request), channel=channel)
        token = context.set_current(meta)
        try:
            return self.get_response(request)
        finally:
            context.reset(token)


def client_ip(request: HttpRequest) -> str:
    # X-Forwarded-For is trusted only when a proxy in front is declared: a client could
    # otherwise write any address into the audit trail.
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))
