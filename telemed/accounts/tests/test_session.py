"""Sign-in through the pages: second factor, idle timeout, sign-out."""

from __future__ import annotations

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from telemed.accounts.models import Role
from telemed.testing import PASSWORD, make_expert, make_user


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_sign_in_page_signs_in(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/accounts/me").json()["username"] == "alice"


def test_wrong_password_shows_a_form_error(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope-nope-nope"})
    assert response.status_code == 401
    assert client.get("/api/accounts/me").status_code == 401


def test_next_must_stay_on_this_site(client, alice):
    response = client.post(
        "/accounts/login/?next=https://evil.example/", {"username": "alice", "password": PASSWORD}
    )
    assert response["Location"] == "/"


@pytest.fixture
def expert(network):
    return make_expert("dr_wang", network.province, network.cardiology)


def test_expert_must_enrol_and_give_a_code(client, expert, settings):
    settings.REQUIRE_SECOND_FACTOR = True
    # django-otp delays the next attempt after a wrong code; the wrong one below is deliberate.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    response = client.post("/accounts/login/", {"username": "dr_wang", "password": PASSWORD})
    assert response["Location"] == "/accounts/second-factor/"
    assert client.get("/")["Location"] == "/accounts/second-factor/"
    assert client.get("/api/accounts/me").json()["error"] == "second_factor_required"

    assert client.get("/accounts/second-factor/").status_code == 200
    device = TOTPDevice.objects.get(user=expert, confirmed=False)
    assert client.post("/accounts/second-factor/", {"token": "000000"}).status_code == 200
    response = client.post("/accounts/second-factor/", {"token": _code(device)})
    assert response.status_code == 302
    assert client.get("/api/accounts/me").json()["username"] == "dr_wang"


def test_enrolled_expert_gives_a_code_at_next_sign_in(client, expert, settings):
    settings.REQUIRE_SECOND_FACTOR = True
    device = TOTPDevice.objects.create(user=expert, name="phone", confirmed=True)
    client.post("/accounts/login/", {"username": "dr_wang", "password": PASSWORD})
    assert client.get("/api/accounts/me").status_code == 401
    client.post("/accounts/second-factor/", {"token": _code(device)})
    assert client.get("/api/accounts/me").status_code == 200


def test_second_factor_off_lets_expert_straight_in(client, expert, settings):
    settings.REQUIRE_SECOND_FACTOR = False
    response = client.post("/accounts/login/", {"username": "dr_wang", "password": PASSWORD})
    assert response["Location"] == "/"


def test_idle_session_is_signed_out(client, alice, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert client.get("/api/accounts/me").status_code == 200
    session = client.session
    session["telemed_last_seen"] = int(time.time()) - 120
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "idle=1" in response["Location"]
    assert client.get("/api/accounts/me").status_code == 401


def test_idle_api_session_gets_json_401(client, alice, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    client.get("/api/accounts/me")
    session = client.session
    session["telemed_last_seen"] = int(time.time()) - 120
    session.save()
    response = client.get("/api/accounts/me")
    assert response.status_code == 401 and response.json()["error"] == "session_expired"


def test_sign_out(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/accounts/me").status_code == 401


def test_session_api_writes_need_csrf(network, alice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post("/api/patients/", data="{}", content_type="application/json")
    assert response.status_code in (401, 403)


def test_patient_role_signs_in(client, network, alice_patient):
    make_user("pat", Role.PATIENT, network.county_a, patient=alice_patient)
    client.post("/accounts/login/", {"username": "pat", "password": PASSWORD})
    assert client.get(f"/api/patients/{alice_patient.pk}").status_code == 200
