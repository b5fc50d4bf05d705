"""Request-level guards: body size before parsing; and the audit context of each request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from telemed.core import context


class RequestSizeLimitMiddleware:
    """Refuse an oversized body by its declared length, before anything reads it.

    Uploads of big files (studies, slides) go through their own streaming endpoints, which
    later parts exempt by path prefix; everything else is a form or a JSON document.
    """

    exempt_prefixes: tuple[str, ...] = ("/dicomweb/", "/uploads/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse(
                {"error": "bad_request", "message": "Invalid Content-Length"}, status=400
            )
        if length > settings.MAX_REQUEST_BYTES and not request.path.startswith(
            self.exempt_prefixes
        ):
            return JsonResponse(
                {
                    "error": "too_large",
                    "message": f"Request body of {length} bytes exceeds {settings.MAX_REQUEST_BYTES}",
                },
                status=413,
            )
        return self.get_response(request)


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
