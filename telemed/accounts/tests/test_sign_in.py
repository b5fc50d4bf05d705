from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory

from telemed.accounts import services
from telemed.accounts.models import Role, User
from telemed.audit.models import AuditEvent
from telemed.core import clock
from telemed.testing import PASSWORD, make_user


def _try(username: str, password: str) -> User:
    return services.sign_in(RequestFactory().post("/accounts/login/"), username, password)


def test_it_signs_in(alice):
    assert _try("alice", PASSWORD) == alice


def test_unknown_user_and_wrong_password_read_the_same(alice):
    with pytest.raises(services.SignInFailed) as unknown:
        _try("nobody", PASSWORD)
    with pytest.raises(services.SignInFailed) as wrong:
        _try("alice", "wrong-password")
    assert unknown.value.message == wrong.value.message


def test_it_locks_out_after_repeated_failures(alice, settings):
    settings.LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        with pytest.raises(services.SignInFailed):
            _try("alice", "wrong-password")
    with pytest.raises(services.LockedOut):
        _try("alice", PASSWORD)
    assert AuditEvent.objects.filter(action="login", outcome="denied", actor="alice").exists()


def test_lockout_ends(alice, settings):
    settings.LOCKOUT_THRESHOLD = 2
    settings.LOCKOUT_MINUTES = 15
    for _ in range(2):
        with pytest.raises(services.SignInFailed):
            _try("alice", "wrong-password")
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=16)):
        assert _try("alice", PASSWORD) == alice
    alice.refresh_from_db()
    assert alice.failed_logins == 0 and alice.locked_until is None


def test_a_success_resets_the_count(alice, settings):
    settings.LOCKOUT_THRESHOLD = 3
    for _ in range(2):
        with pytest.raises(services.SignInFailed):
            _try("alice", "wrong-password")
    _try("alice", PASSWORD)
    alice.refresh_from_db()
    assert alice.failed_logins == 0


def test_service_accounts_cannot_sign_in(network):
    make_user("his", Role.SYSTEM, network.county_a)
    with pytest.raises(services.SignInFailed):
        _try("his", PASSWORD)


@pytest.mark.parametrize(
    ("role", "needs"),
    [
        (Role.EXPERT, True),
        (Role.CONSULTATION_MANAGER, True),
        (Role.ADMINISTRATOR, True),
        (Role.REQUESTING_DOCTOR, False),
        (Role.PATIENT, False),
    ],
)
def test_second_factor_roles(network, settings, role, needs):
    settings.REQUIRE_SECOND_FACTOR = True
    user = make_user(f"u_{role}", role, network.province)
    assert services.second_factor_required(user) is needs
    settings.REQUIRE_SECOND_FACTOR = False
    assert services.second_factor_required(user) is False


def test_full_name_order(network):
    chinese = make_user(
        "li", Role.REQUESTING_DOCTOR, network.county_a, last_name="李", first_name="县医"
    )
    western = make_user("jo", Role.EXPERT, network.province, first_name="Jo", last_name="Smith")
    assert (chinese.get_full_name(), western.get_full_name()) == ("李县医", "Jo Smith")
