from __future__ import annotations

from telemed.accounts.models import Role
from telemed.testing import PASSWORD, make_user


def test_sign_in_page(client, db):
    response = client.get("/accounts/login/?idle=1")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="idle-notice"' in page
    assert 'name="username"' in page and 'name="password"' in page
    assert 'data-testid="demo-notice"' not in page


def test_wrong_password_shows_error(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert 'data-testid="sign-in-error"' in response.content.decode()


def test_empty_form_shows_field_errors(client, db):
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 400
    assert 'data-testid="error-username"' in response.content.decode()


def test_demo_notice_lists_accounts(client, db, settings):
    settings.DEMO_MODE = True
    settings.REQUIRE_SECOND_FACTOR = False
    page = client.get("/accounts/login/").content.decode()
    assert 'data-testid="demo-notice"' in page
    assert 'data-testid="second-factor-off"' in page
    assert "<code>city-supervisor</code>" in page


def test_sign_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_second_factor_enrolment_page(client, network, settings):
    settings.REQUIRE_SECOND_FACTOR = True
    make_user("boss", Role.ADMINISTRATOR, network.province)
    client.post("/accounts/login/", {"username": "boss", "password": PASSWORD})
    response = client.get("/")
    assert response["Location"] == "/accounts/second-factor/"
    page = client.get("/accounts/second-factor/").content.decode()
    assert "<svg" in page
    assert 'data-testid="totp-secret"' in page
    assert 'href="/audit/"' not in page  # no menu until the second step is done
    response = client.post("/accounts/second-factor/", {"token": "000000"})
    assert 'data-testid="second-factor-error"' in response.content.decode()
