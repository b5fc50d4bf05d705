"""``/ws/edge/``: the connection a sending hospital's edge gateway keeps open to the hub.

The edge dials out (it sits behind NAT) with its API client's bearer token in the
``Authorization`` header; only a hospital system's service user is taken. While it is
connected, its channel name lies in the cache (see ``relay``), refreshed by the edge's
heartbeat and dropped when it leaves, and the hub's views send it requests through the
channel layer.

Frames: the hub sends JSON text (``{"type": "tile" | "associated" | "region", "id", ...}``
and ``{"type": "upload_now", "slide"}``); the edge answers a request with one binary frame,
a JSON header line (``{"id", "status", "message"}``) and then the bytes, and sends
``{"type": "alive"}`` every ``relay.HEARTBEAT`` seconds. A connection whose token has
expired is closed at its next heartbeat, so the edge reconnects with a fresh one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache
from django.http import HttpRequest

from telemed.core import clock
from telemed.pathology import relay

# Requests waiting for the edge's answer, at most; past that the hub answers "busy" itself.
MAX_PENDING = 256
CLOSE_UNAUTHORISED = 4401


def _bearer(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin1")
            if text.lower().startswith("bearer "):
                return text.split(" ", 1)[1].strip()
    return ""


@database_sync_to_async
def _edge_user(token: str) -> tuple[int | None, dt.datetime | None]:
    """The service user behind the token and when the token expires (None, None if it is
    not a valid hospital system's token)."""
    from oauth2_provider.models import AccessToken

    from telemed.accounts.models import Role
    from telemed.core.auth import BearerAuth

    user = BearerAuth().authenticate(HttpRequest(), token) if token else None
    if user is None or user.role != Role.SYSTEM:
        return None, None
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    expires = (
        AccessToken.objects.filter(token_checksum=checksum)
        .values_list("expires", flat=True)
        .first()
    )
    return user.pk, expires


@database_sync_to_async
def _waiting_uploads(edge_user_id: int) -> list[int]:
    from telemed.pathology.models import Slide, SlideState

    return list(
        Slide.objects.unscoped("the slides an edge is asked to upload, for that edge")
        .filter(
            uploaded_by_id=edge_user_id,
            state=SlideState.REGISTERED,
            upload_requested_at__isnull=False,
        )
        .values_list("pk", flat=True)
    )


class EdgeConsumer(AsyncWebsocketConsumer):
    edge_user_id: int | None = None
    expires: dt.datetime | None = None

    async def connect(self) -> None:
        self.pending: dict[str, tuple[str, float]] = {}
        self.edge_user_id, self.expires = await _edge_user(_bearer(self.scope))
        if self.edge_user_id is None:
            await self.close()  # refused at the handshake: 403
            return
        await self._present()
        await self.accept()
        for slide_id in await _waiting_uploads(self.edge_user_id):
            await self.send(json.dumps({"type": "upload_now", "slide": slide_id}))

    async def _present(self) -> None:
        assert self.edge_user_id is not None
        await cache.aset(
            relay.presence_key(self.edge_user_id), self.channel_name, relay.PRESENCE_SECONDS
        )

    async def disconnect(self, code: int) -> None:
        if self.edge_user_id is None:
            return
        key = relay.presence_key(self.edge_user_id)
        if await cache.aget(key) == self.channel_name:
            await cache.adelete(key)
        for request_id in list(self.pending):
            await self._answer(request_id, {"status": 503, "message": "disconnected"})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            header, _, body = bytes_data.partition(b"\n")
            try:
                head = json.loads(header)
                request_id = str(head["id"])
                status = int(head.get("status", 502))
            except (ValueError, KeyError, TypeError):
                return  # not an answer: ignored, its requester times out
            await self._answer(
                request_id,
                {"status": status, "message": str(head.get("message", "")), "body": body},
            )
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "alive":
            if self.expires is not None and self.expires <= clock.now():
                await self.close(code=CLOSE_UNAUTHORISED)
                return
            await self._present()
            self._forget_stale()

    async def _answer(self, request_id: str, answer: dict[str, Any]) -> None:
        found = self.pending.pop(request_id, None)
        if found is not None:
            assert self.channel_layer is not None
            await self.channel_layer.send(found[0], {"type": "edge.answer", **answer})

    def _forget_stale(self) -> None:
        # A requester stops waiting after relay.timeout(): its entry is no use after that.
        cutoff = time.monotonic() - 2 * relay.timeout()
        for request_id, (_, since) in list(self.pending.items()):
            if since < cutoff:
                del self.pending[request_id]

    async def edge_ask(self, message: dict[str, Any]) -> None:
        request = message["request"]
        if len(self.pending) >= MAX_PENDING:
            assert self.channel_layer is not None
            await self.channel_layer.send(
                message["reply_to"],
                {"type": "edge.answer", "status": 503, "message": "busy"},
            )
            return
        self.pending[request["id"]] = (message["reply_to"], time.monotonic())
        await self.send(json.dumps(request))

    async def edge_upload_now(self, message: dict[str, Any]) -> None:
        await self.send(json.dumps({"type": "upload_now", "slide": message["slide"]}))
