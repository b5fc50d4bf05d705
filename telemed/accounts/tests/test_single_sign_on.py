"""OpenID Connect single sign-on: another subsystem signs a user in through telemed with the
authorization-code flow and PKCE, and receives a signed ID token naming the user."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlparse

from jwcrypto import jwk, jwt
from oauth2_provider.models import Application

from telemed.testing import PASSWORD

REDIRECT = "https://pacs.example.org/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def _subsystem() -> Application:
    return Application.objects.create(
        name="Imaging viewer",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


def _authorize(client, app: Application, challenge: str):
    return client.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
            "nonce": "n-1",
        },
    )


def test_unsigned_in_user_is_sent_to_sign_in(client, alice):
    app = _subsystem()
    response = _authorize(client, app, _pkce()[1])
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signed_in_user_gets_an_id_token(client, alice):
    app = _subsystem()
    verifier, challenge = _pkce()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    response = _authorize(client, app, challenge)
    assert response.status_code == 302, response.content
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = parse_qs(location.query)
    assert params["state"] == ["xyz"]

    token = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    keys = jwk.JWKSet.from_json(client.get("/.well-known/jwks.json").content)
    id_token = jwt.JWT(jwt=token.json()["id_token"], key=keys)
    claims = json.loads(id_token.claims)
    assert (
        claims["sub"] == str(alice.pk)
        and claims["aud"] == app.client_id
        and claims["nonce"] == "n-1"
    )
    assert (claims["telemed_role"], claims["telemed_institution"]) == (
        "requesting_doctor",
        "COUNTY_A",
    )
    assert claims["preferred_username"] == "alice"


def test_a_wrong_code_verifier_is_refused(client, alice):
    app = _subsystem()
    _verifier, challenge = _pkce()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    code = parse_qs(urlparse(_authorize(client, app, challenge)["Location"]).query)["code"][0]
    token = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": secrets.token_urlsafe(48),
        },
    )
    assert token.status_code == 400
