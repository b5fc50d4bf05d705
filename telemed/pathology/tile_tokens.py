"""Signed, expiring tile tokens: what lets a tile request skip the Django stack.

The scoped, audited read of a slide (its details or a case's slide list) hands out a token
bound to that user, that slide and that slide's content (``source``), valid for
``TILE_TOKEN_SECONDS``. The ASGI fast path (``fast_tiles``) then serves the slide's tiles
on the token alone: an HMAC check, no database, no session, so the check costs microseconds
and holds in every worker process alike (the key is derived from ``SECRET_KEY``).

What this trades: a token cannot be revoked before it expires, so a user whose access ends
keeps the tiles of a slide they already opened for at most ``TILE_TOKEN_SECONDS`` (a browser
may keep those tiles for a day anyway: they are sent cacheable, privately). An expired,
altered or foreign token is not an error here: the request goes on to the Django view,
which checks the caller's own credentials as it always did.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from django.conf import settings

TILE_TOKEN_SECONDS = 300
QUERY_NAME = "tt"
_MAC_BYTES = 16


def _key() -> bytes:
    # A key of its own: a tile token's MAC must never double as any other signature.
    return hashlib.sha256(b"telemed.pathology.tile-token:" + settings.SECRET_KEY.encode()).digest()


def _mac(payload: str) -> str:
    digest = hmac.new(_key(), payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(user_id: int, slide_id: int, source: str, now: float | None = None) -> str:
    """A token for ``user_id`` to read the tiles of slide ``slide_id`` (file ``source``)."""
    expires = int((time.time() if now is None else now) + TILE_TOKEN_SECONDS)
    encoded = base64.urlsafe_b64encode(source.encode()).decode().rstrip("=")
    payload = f"{slide_id}.{user_id}.{expires}.{encoded}"
    return f"{payload}.{_mac(payload)}"


def verify(token: str, slide_id: int, now: float | None = None) -> str | None:
    """The slide's ``source`` when ``token`` is genuine, unexpired and for ``slide_id``;
    None otherwise (the caller then checks credentials the ordinary way)."""
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload)):
        return None
    parts = payload.split(".")
    if len(parts) != 4 or parts[0] != str(slide_id):
        return None
    try:
        expires = int(parts[2])
        padded = parts[3] + "=" * (-len(parts[3]) % 4)
        source = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return source
