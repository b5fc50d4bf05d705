"""What every DICOMweb view shares: who is calling (a bearer token or a signed-in session),
errors as JSON 4xx answers, and the media types."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from telemed.accounts.models import User
from telemed.core import auth, context
from telemed.core.errors import DomainError, error_response

logger = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
DICOM = "application/dicom"


class DicomwebError(DomainError):
    def __init__(self, status: int, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def caller(request: HttpRequest) -> User:
    """The user behind the request: a bearer token, else the session (with CSRF for
    writes); 401 otherwise."""
    user, by_token = auth.caller(request)
    if by_token and user is None:
        raise DicomwebError(
            401, _("The bearer token is missing, expired or not valid."), code="unauthorized"
        )
    if user is None:
        raise DicomwebError(401, _("Sign in or send a bearer token."), code="unauthorized")
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    if not by_token and writes and auth.csrf_refusal(request) is not None:
        raise DicomwebError(403, _("The CSRF token is missing or wrong."), code="forbidden")
    return user


def dicomweb_view(
    allowed: tuple[str, ...],
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Authenticate, answer other methods with 405, and every error as a JSON 4xx."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if request.method not in allowed:
                    response = error_response(
                        405, "method_not_allowed", _("This method is not allowed here.")
                    )
                    response["Allow"] = ", ".join(allowed)
                    return response
                user = caller(request)
                meta = context.current()
                token = context.set_current(context.RequestMeta(meta.source_ip, "api"))
                try:
                    return view(request, user, *args, **kwargs)
                finally:
                    context.reset(token)
            except DomainError as error:
                response = error_response(error.status, error.code, str(error.message))
                if error.status == 401:
                    response["WWW-Authenticate"] = 'Bearer realm="dicomweb"'
                return response

        return wrapper

    return decorate


def accepts(request: HttpRequest, *offered: str) -> str:
    """The first of ``offered`` (in the order of the Accept header) that the caller takes;
    406 when none."""
    header = request.META.get("HTTP_ACCEPT", "") or "*/*"
    for part in header.split(","):
        media = part.split(";")[0].strip().lower()
        for media_type in offered:
            if media in ("*/*", media_type) or (
                media.endswith("/*") and media_type.startswith(media[:-1])
            ):
                return media_type
    raise DicomwebError(
        406, _("None of the accepted media types can be served."), code="not_acceptable"
    )
