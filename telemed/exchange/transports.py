"""The transports of outbound delivery: a FHIR rest-hook (HTTP POST) and HL7 v2 over MLLP.

``send`` makes one attempt and raises ``DeliveryFailed`` with what went wrong; it never
retries (the outbox does) and never follows a redirect.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from telemed.core.errors import ValidationFailed
from telemed.exchange import hl7v2
from telemed.exchange.models import OutboundMessage, Subscription, Transport

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE = 2000


class DeliveryFailed(Exception):
    def __init__(self, status: str, response: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.response = response


@dataclass(frozen=True)
class Sent:
    status: str
    response: str


def send(message: OutboundMessage) -> Sent:
    """One attempt over the subscription's transport; raises DeliveryFailed."""
    subscription = message.subscription
    if subscription.transport == Transport.REST_HOOK:
        return _post(subscription, message)
    return _mllp(subscription, message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would follow a 302 with a GET and no body, and the
    report would count as delivered without having been posted."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(subscription: Subscription, message: OutboundMessage) -> Sent:
    headers = {
        "Content-Type": f"{message.content_type}; charset=utf-8",
        "Accept": "application/fhir+json",
        "Idempotency-Key": str(message.idempotency_key),
    }
    if subscription.authorization:
        headers["Authorization"] = subscription.authorization
    if not subscription.endpoint.startswith(("http://", "https://")):
        raise DeliveryFailed("misconfigured", "a rest-hook endpoint is an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        subscription.endpoint, data=message.payload.encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_RESPONSE).decode("utf-8", "replace")
            return Sent(str(response.status), body)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE).decode("utf-8", "replace")
        raise DeliveryFailed(f"HTTP {exc.code}", body) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed("unreachable", str(getattr(exc, "reason", exc))) from None


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationFailed(
            gettext("An MLLP endpoint is host:port"), details={"fields": {"endpoint": endpoint}}
        )
    return host.strip("[]"), int(port)


def _mllp(subscription: Subscription, message: OutboundMessage) -> Sent:
    host, port = split_endpoint(subscription.endpoint)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as sock:
            sock.sendall(hl7v2.frame(message.payload))
            reply = bytearray()
            while hl7v2.END_BLOCK not in reply and len(reply) < 1024 * 1024:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise DeliveryFailed("unreachable", str(exc)) from None
    text = bytes(reply).strip(b"\x0b\x1c\r\n").decode("utf-8", "replace")
    try:
        ack = hl7v2.parse(text)
    except hl7v2.Unprocessable:
        raise DeliveryFailed("no ACK", text[:MAX_RESPONSE]) from None
    code = hl7v2.value(ack, "MSA.F1").upper()
    acknowledged = hl7v2.value(ack, "MSA.F2")
    if code not in {"AA", "CA"} or acknowledged != str(message.idempotency_key):
        raise DeliveryFailed(code or "no MSA", text[:MAX_RESPONSE])
    return Sent(code, text[:MAX_RESPONSE])
