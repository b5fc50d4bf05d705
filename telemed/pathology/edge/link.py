"""The edge's connection to the hub: a WebSocket it opens to ``/ws/edge/`` and keeps open
(the hospital is behind NAT: the hub never dials in), reopened with back-off when it drops.

The hub sends requests as JSON; each is answered, in a thread of its own so a slow read
does not hold up the others, with one binary frame: a JSON header line (``id``,
``status``, ``message``) and the bytes read from the edge's own copy with the same code
the hub uses (``telemed.pathology.slides``), so a relayed tile is byte for byte the tile
the hub makes once the file has arrived. Only slides this edge took are served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import websockets
from django.db import close_old_connections
from websockets.asyncio.client import ClientConnection, connect

from telemed.core.errors import DomainError, NotFound
from telemed.pathology import relay, slides
from telemed.pathology.edge import uploads
from telemed.pathology.edge.hub import HubClient, HubRefused, HubUnreachable
from telemed.pathology.edge.models import EdgeSlide

logger = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
# Bytes of one answer at most (a key image region is the largest): the hub takes 16 MiB.
MAX_FRAME = 8 * 1024 * 1024


def _ours(sha256: str, entry: str) -> str:
    if not EdgeSlide.objects.filter(sha256=sha256, entry=entry).exists():
        raise NotFound("This edge gateway has no such slide.")
    return f"{sha256}:{entry}" if entry else sha256


def read(request: dict[str, Any]) -> bytes:
    """The bytes a hub request asks for (raises DomainError with the reason)."""
    source = _ours(str(request.get("sha256", "")), str(request.get("entry", "")))
    kind = request.get("type")
    if kind == "tile":
        return slides.tile(source, int(request["level"]), int(request["col"]), int(request["row"]))
    if kind == "associated":
        return slides.associated(source, str(request["name"]))
    if kind == "region":
        box = (int(request[n]) for n in ("x", "y", "width", "height"))
        return slides.region(source, *box)
    raise NotFound(f"unknown request {kind!r}")


def answer(request: dict[str, Any]) -> bytes:
    """The binary frame answering one request."""
    head: dict[str, Any] = {"id": request.get("id"), "status": 200}
    body = b""
    try:
        body = read(request)
    except DomainError as error:
        head.update(status=error.status, message=error.message)
    except (KeyError, ValueError, TypeError) as error:
        head.update(status=400, message=f"malformed request: {error}")
    except Exception as error:  # a fault here must not end the link for every slide
        logger.exception("answering %s", request.get("type"))
        head.update(status=500, message=type(error).__name__)
    finally:
        close_old_connections()
    return json.dumps(head).encode() + b"\n" + body


class Link:
    def __init__(self, hub: HubClient, on_upload_now: Callable[[], None]) -> None:
        self.hub = hub
        self.on_upload_now = on_upload_now
        self.connected = asyncio.Event()

    async def run_forever(self) -> None:
        delay = FIRST_DELAY
        while True:
            try:
                headers = await asyncio.to_thread(self.hub.headers)
                async with connect(
                    self.hub.ws_url(),
                    additional_headers=headers,
                    # The hub checks the Origin of every WebSocket against its host names.
                    origin=self.hub.config.hub_url.rstrip("/"),  # type: ignore[arg-type]
                    max_size=1024 * 1024,
                    open_timeout=15,
                ) as socket:
                    logger.info("connected to the hub at %s", self.hub.ws_url())
                    delay = FIRST_DELAY
                    self.connected.set()
                    await self._serve(socket)
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, HubUnreachable, HubRefused) as error:
                logger.info("hub connection: %s; again in %.0f s", error, delay)
            finally:
                self.connected.clear()
            # Back-off with jitter, so many edges do not return to a restarted hub at once.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (not a secret)
            delay = min(delay * 2, MAX_DELAY)

    async def _serve(self, socket: ClientConnection) -> None:
        beat = asyncio.create_task(self._heartbeat(socket))
        answers: set[asyncio.Task[None]] = set()
        try:
            async for frame in socket:
                if isinstance(frame, bytes):
                    continue
                try:
                    request = json.loads(frame)
                except ValueError:
                    continue
                if not isinstance(request, dict):
                    continue
                if request.get("type") == "upload_now":
                    await self._upload_now(request)
                    continue
                task = asyncio.create_task(self._answer(socket, request))
                answers.add(task)
                task.add_done_callback(answers.discard)
        finally:
            beat.cancel()
            for task in answers:
                task.cancel()

    async def _answer(self, socket: ClientConnection, request: dict[str, Any]) -> None:
        frame = await asyncio.to_thread(answer, request)
        if len(frame) > MAX_FRAME:
            frame = json.dumps(
                {"id": request.get("id"), "status": 422, "message": "answer too large"}
            ).encode()
        await socket.send(frame)

    async def _upload_now(self, request: dict[str, Any]) -> None:
        try:
            slide_id = int(request.get("slide", 0))
        except (TypeError, ValueError):
            return
        if await asyncio.to_thread(uploads.ask_now, slide_id):
            logger.info("the hub asks for slide %s now", slide_id)
            self.on_upload_now()

    async def _heartbeat(self, socket: ClientConnection) -> None:
        while True:
            await socket.send(json.dumps({"type": "alive"}))
            await asyncio.sleep(relay.HEARTBEAT)
