from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from telemed.accounts import services
from telemed.audit import services as audit
from telemed.audit.models import Action


class SignInForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL_PATH)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_in(
                request, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except services.LockedOut:
            error, status = (
                str(_("Too many failed sign-ins. The account is locked; try again later.")),
                423,
            )
        except services.SignInFailed:
            error, status = str(_("Wrong username or password.")), 401
        else:
            login(request, user)
            audit.record(user, Action.LOGIN, object_type="user", object_id=user.pk)
            request.session["telemed_next"] = _next_url(request)
            if services.second_factor_required(user):
                return redirect("accounts:second_factor")
            return redirect(request.session.pop("telemed_next"))
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "error": error,
        "next": request.GET.get("next", ""),
        "idle": request.GET.get("idle") == "1",
        "demo_mode": settings.DEMO_MODE,
        "second_factor_off": not settings.REQUIRE_SECOND_FACTOR,
    }
    return render(request, "accounts/sign_in.html", context, status=status)


@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Verify a TOTP code, enrolling an authenticator first if the user has none."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    enrolling = services.confirmed_device(user) is None
    form = TokenForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        device = services.verify_token(user, form.cleaned_data["token"], enrolling=enrolling)
        if device is not None:
            otp_login(request, device)
            return redirect(request.session.pop("telemed_next", settings.LOGIN_REDIRECT_URL_PATH))
        error = str(_("That code is not right. Codes change every 30 seconds."))
    context: dict[str, object] = {"form": form, "error": error, "enrolling": enrolling}
    if enrolling:
        import segno

        device = services.pending_device(user)
        context["secret"] = device.config_url.split("secret=")[1].split("&")[0]
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(request, "accounts/second_factor.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(request.user, Action.LOGOUT, object_type="user", object_id=request.user.pk)
    logout(request)
    return redirect("accounts:login")
