"""API authentication: a signed-in browser session (with CSRF) or an OAuth2 bearer token.

A client-credentials token carries no user; it acts as its API client's service user, a
role=system account of the client's institution, so it meets the same scoping as staff.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from ninja.security import APIKeyCookie, HttpBearer
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_backends import get_oauthlib_core

from telemed.accounts.models import User
from telemed.core.rows import matched


class SessionAuth(APIKeyCookie):
    """The browser's session cookie; unsafe methods need the CSRF token as well."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # The token, its client and the client's service user (with the institution its
        # scope is computed from) in one query: the full oauthlib validation costs several
        # milliseconds a request and adds nothing for the unrestricted tokens we issue.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access_token = matched(
            AccessToken.objects.select_related(
                "user__institution__region",
                "application__telemed_client__service_user__institution__region",
            ).filter(token_checksum=checksum)
        )
        if access_token is None or not access_token.is_valid([]):
            return None
        if access_token.resource:
            # An audience-restricted token: let oauthlib check the audience as well.
            valid, _oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
            if not valid:
                return None
        user: User | None = access_token.user
        if user is None:
            client = getattr(access_token.application, "telemed_client", None)
            user = client.service_user if client is not None else None
        if user is None or not user.is_active:
            return None
        request.user = user
        return user


API_AUTH = [BearerAuth(), SessionAuth()]


def bearer_user(request: HttpRequest) -> User | None:
    """For plain Django views (FHIR, DICOMweb): the user behind a bearer token, if valid."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("bearer "):
        return None
    return BearerAuth().authenticate(request, header.split(" ", 1)[1].strip())


def caller(request: HttpRequest) -> tuple[User | None, bool]:
    """For plain Django views that take both (media, DICOMweb, slides): (user, came with a
    bearer token). A request with an Authorization header is judged by its token alone;
    otherwise the signed-in session, whose writes also need ``csrf_refusal``."""
    if request.META.get("HTTP_AUTHORIZATION"):
        return bearer_user(request), True
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return user, False
    return None, False


def csrf_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """CSRF for a session caller of a view that is exempt because tokens need none: the
    refusal, or None when the token is right."""
    guard = CsrfViewMiddleware(lambda r: HttpResponse())
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    guard.process_request(request)
    return guard.process_view(request, lambda r: HttpResponse(), (), {})
