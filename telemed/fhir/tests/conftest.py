"""Fixtures for the FHIR tests: hospital systems with OAuth2 client-credentials tokens.

``his`` is COUNTY_A's HIS (alice's hospital), ``other_his`` COUNTY_B's (charlie's): it must
see nothing of COUNTY_A's patients and cases.
"""

from __future__ import annotations

import base64
import importlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from telemed.accounts.models import User
from telemed.accounts.services import create_api_client
from telemed.consultations.testing import build_team
from telemed.fhir.services import grant_scopes


@dataclass
class His:
    client_id: str
    secret: str
    token: str
    user: User

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/fhir+json",
        token: str | None = None,
        language: str = "en",
    ) -> Any:
        client = Client()
        extra: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": language}
        extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()})
        extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token if token is None else token}"
        data = (
            body if isinstance(body, str | bytes) else json.dumps(body) if body is not None else ""
        )
        response = client.generic(method, path, data, content_type=content_type, **extra)
        response.json_body = json.loads(response.content) if response.content else None  # type: ignore[attr-defined]
        return response


def issue_token(client_id: str, secret: str, server: Any = None) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def make_his(code: str, scopes: str = "system/*.cruds") -> His:
    created = create_api_client(code)
    if scopes:
        grant_scopes(created.client_id, scopes)
    token = issue_token(created.client_id, created.client_secret)
    user = User.objects.get(api_client__application__client_id=created.client_id)
    return His(created.client_id, created.client_secret, token, user)


@pytest.fixture
def his(network: Any) -> His:
    return make_his("COUNTY_A")


@pytest.fixture
def other_his(network: Any) -> His:
    return make_his("COUNTY_B")


@pytest.fixture
def team(network: Any, alice: Any) -> Any:
    return build_team(network, alice)


def valid(body: dict[str, Any]) -> Any:
    """Validate a response body with fhir.resources (R4B classes, R4 shapes), entries too."""
    name = body["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{name.lower()}")
    parsed = getattr(module, name).model_validate(body)
    for entry in body.get("entry") or ():
        if "resource" in entry:
            valid(entry["resource"])
        if "outcome" in entry.get("response", {}):
            valid(entry["response"]["outcome"])
    return parsed


def outcome(response: Any, status: int) -> str:
    """Assert an OperationOutcome with ``status``; returns its diagnostics."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json_body
    assert body["resourceType"] == "OperationOutcome"
    valid(body)
    return " | ".join(str(issue.get("diagnostics", "")) for issue in body["issue"])
