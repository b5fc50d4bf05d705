"""Session guards: sign out after idle time, and hold back a second-factor role until the
TOTP code is given."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from telemed.accounts.services import second_factor_required

_LAST_SEEN = "telemed_last_seen"
# Paths a half-signed-in user may reach: the second-factor pages, sign-out, assets, language.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/healthz", "/.well-known/", "/o/token")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/fhir/", "/dicomweb/"))


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(_LAST_SEEN)
            if isinstance(last, int) and now - last > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                if _is_api(request):
                    return JsonResponse(
                        {"error": "session_expired", "message": "Signed out after inactivity"},
                        status=401,
                    )
                return redirect(f"{settings.LOGIN_URL_PATH}?idle=1")
            # Write the session at most once a minute: every write is a database round trip.
            if not isinstance(last, int) or now - last >= 60:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and second_factor_required(user)
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            if _is_api(request):
                return JsonResponse(
                    {
                        "error": "second_factor_required",
                        "message": "Complete the second sign-in step first",
                    },
                    status=401,
                )
            return redirect("accounts:second_factor")
        return self.get_response(request)
