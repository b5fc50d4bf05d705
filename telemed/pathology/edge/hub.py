"""The edge's HTTP side towards the hub: its bearer token (a fixed one, or fetched with the
API client's credentials and renewed before it expires) and the registration call."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from telemed.pathology.edge.config import EdgeConfig

TIMEOUT = 30.0
# A token is renewed this long before the hub would stop taking it.
RENEW_BEFORE = 120.0


class HubRefused(RuntimeError):
    """The hub answered with a 4xx and its reason: retrying the same request will not help."""


class HubUnreachable(RuntimeError):
    """No answer, or a 5xx: try again later."""


class HubClient:
    def __init__(self, config: EdgeConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self._token = config.token
        self._expires = float("inf") if config.token else 0.0
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.config.hub_url + path.lstrip("/")

    def ws_url(self) -> str:
        return "ws" + self.config.hub_url.removeprefix("http") + "ws/edge/"

    def token(self) -> str:
        with self._lock:
            if time.monotonic() < self._expires - RENEW_BEFORE:
                return self._token
            try:
                answer = self.session.post(
                    self.url("o/token/"),
                    data={"grant_type": "client_credentials"},
                    auth=(self.config.client_id, self.config.client_secret),
                    timeout=TIMEOUT,
                )
            except requests.RequestException as error:
                raise HubUnreachable(f"token: {error}") from error
            if answer.status_code != 200:
                raise (HubRefused if answer.status_code < 500 else HubUnreachable)(
                    f"token: {answer.status_code} {answer.text[:200]}"
                )
            body = answer.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600))
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self.session.post(
                self.url(path), json=payload, headers=self.headers(), timeout=TIMEOUT
            )
        except requests.RequestException as error:
            raise HubUnreachable(str(error)) from error
        if answer.status_code >= 500:
            raise HubUnreachable(f"{answer.status_code} from the hub")
        try:
            body: dict[str, Any] = answer.json()
        except ValueError:
            body = {}
        if answer.status_code >= 400:
            raise HubRefused(f"{answer.status_code}: {body.get('message', answer.reason)}")
        return body
