from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telemed.testing import register


def _create_client(code: str) -> dict[str, str]:
    out = StringIO()
    call_command("client", "create", "--institution", code, stdout=out)
    return json.loads(out.getvalue())


def _token(client, credentials: dict[str, str]) -> str:
    basic = base64.b64encode(
        f"{credentials['client_id']}:{credentials['client_secret']}".encode()
    ).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_it_prints_client_credentials_as_json(network):
    credentials = _create_client("COUNTY_A")
    assert set(credentials) == {"client_id", "client_secret"}
    assert len(credentials["client_secret"]) >= 32


def test_it_refuses_unknown_institution(network):
    with pytest.raises(CommandError, match="No institution"):
        call_command("client", "create", "--institution", "NOPE", stdout=StringIO())


def test_bearer_token_is_scoped_to_the_institution(client, network, alice, charlie, alice_patient):
    register(charlie, "王建国", "B-0001")
    token = _token(client, _create_client("COUNTY_A"))
    response = client.get("/api/patients/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["张秀英"]
    me = client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me["role"] == "system" and me["institution"] == "COUNTY_A"


def test_bearer_token_of_another_institution_gets_404(client, network, alice_patient):
    token = _token(client, _create_client("COUNTY_B"))
    response = client.get(f"/api/patients/{alice_patient.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404


def test_a_bad_token_is_401(client, network):
    response = client.get("/api/patients/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_a_bad_secret_gets_no_token(client, network):
    credentials = _create_client("COUNTY_A")
    basic = base64.b64encode(f"{credentials['client_id']}:wrong".encode()).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 401


def test_bearer_client_can_register_a_patient(client, network):
    token = _token(client, _create_client("COUNTY_A"))
    body = {"name": "刘洋", "sex": "male", "birth_date": "1971-03-02", "record_number": "HIS-77"}
    response = client.post(
        "/api/patients/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["registrations"][0]["institution"] == "COUNTY_A"


def test_openid_discovery(client, db):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    config = response.json()
    assert config["token_endpoint"].endswith("/o/token/")
    assert "client_credentials" in config.get("grant_types_supported", ["client_credentials"])
    jwks = client.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "RSA"
