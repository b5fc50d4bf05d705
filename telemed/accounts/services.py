"""Sign-in with lockout, second-factor enrolment, and API clients."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import Application

from telemed.accounts.models import ApiClient, Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action, Outcome
from telemed.core import clock
from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.directory.models import Institution


class SignInFailed(DomainError):
    status = 401
    code = "sign_in_failed"


class LockedOut(DomainError):
    status = 423
    code = "locked_out"


def sign_in(request: HttpRequest, username: str, password: str) -> User:
    """Check the password, counting failures; lock the account after too many.

    A locked account is refused before the password is checked, so that guessing on stops
    counting. The answer for an unknown user and a wrong password is the same.
    """
    username = username.strip()[:150]
    user = User.objects.filter(username=username).first()
    moment = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > moment:
        audit.record(
            user,
            Action.LOGIN,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.pk,
            detail={"reason": "locked out"},
        )
        raise LockedOut("Too many failed sign-ins: the account is locked for a while")
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is None or not isinstance(authenticated, User):
        if user is not None:
            _count_failure(user, moment)
        audit.record(
            None,
            Action.LOGIN,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.pk if user else "",
            actor_name=username,
            detail={"reason": "bad credentials"},
        )
        raise SignInFailed("Wrong username or password")
    if authenticated.role == Role.SYSTEM:
        audit.record(
            authenticated,
            Action.LOGIN,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=authenticated.pk,
            detail={"reason": "service account"},
        )
        raise SignInFailed("Wrong username or password")
    if authenticated.failed_logins or authenticated.locked_until:
        User.objects.filter(pk=authenticated.pk).update(failed_logins=0, locked_until=None)
    return authenticated


def _count_failure(user: User, moment: dt.datetime) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        failures = User.objects.values_list("failed_logins", flat=True).get(pk=user.pk)
        if failures >= settings.LOCKOUT_THRESHOLD:
            User.objects.filter(pk=user.pk).update(
                locked_until=moment + dt.timedelta(minutes=settings.LOCKOUT_MINUTES),
                failed_logins=0,
            )


def second_factor_required(user: User) -> bool:
    return bool(settings.REQUIRE_SECOND_FACTOR and user.needs_second_factor)


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled, created on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def verify_token(user: User, token: str, *, enrolling: bool) -> TOTPDevice | None:
    token = token.strip().replace(" ", "")
    if not token.isdigit() or len(token) != 6:
        return None
    device = pending_device(user) if enrolling else confirmed_device(user)
    if device is None or not device.verify_token(token):
        audit.record(
            user,
            Action.LOGIN,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.pk,
            detail={"reason": "bad second factor"},
        )
        return None
    if enrolling:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    institution: str


def create_api_client(
    institution_code: str, name: str = "", *, created_by: User | None = None
) -> NewClient:
    """Create an OAuth2 client-credentials client acting for one institution."""
    institution = Institution.objects.filter(code=institution_code).first()
    if institution is None:
        raise NotFound(f"No institution with code {institution_code!r}")
    if not institution.active:
        raise ValidationFailed(f"Institution {institution_code} is not active")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        suffix = secrets.token_hex(4)
        service_user = User.objects.create(
            username=f"system-{institution.code.lower()}-{suffix}",
            role=Role.SYSTEM,
            institution=institution,
        )
        service_user.set_unusable_password()
        service_user.save(update_fields=["password"])
        application = Application.objects.create(
            name=name or f"{institution.code} system {suffix}",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
            user=None,
        )
        ApiClient.objects.create(
            application=application,
            institution=institution,
            service_user=service_user,
            description=name,
        )
        audit.record(
            created_by,
            Action.ADMIN,
            object_type="api_client",
            object_id=application.client_id,
            detail={"institution": institution.code},
            actor_name="cli",
        )
    return NewClient(
        client_id=application.client_id, client_secret=secret, institution=institution.code
    )
