"""The hub's side of the edge relay: asking a sending hospital's edge gateway for a piece of
a slide whose file is still there (a DeepZoom tile, the label or macro image, a region for
a key image), over the connection the edge keeps open to ``/ws/edge/`` (see
``telemed.pathology.consumers``; county hospitals sit behind NAT, so the hub never dials
out).

How a view waits for the answer: through the Channels layer. The edge's consumer leaves its
channel name in the cache under the edge's service user; a view makes a reply channel,
sends the request to the consumer's channel and waits on the reply channel, at most
``PATHOLOGY_EDGE_TIMEOUT`` seconds. In ``telemed serve`` (one process) the in-memory layer
and the local-memory cache are shared by the consumer and the views, since a sync view's
``async_to_sync`` runs on the server's event loop; with ``REDIS_URL`` both are Redis, so a
view in any worker reaches the consumer in any other. Answers are cached like tiles made
here (same key: same content hash, same tile parameters), so each tile crosses the thin
link once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.pathology import slides

DEFAULT_TIMEOUT = 10.0
# How long an edge's presence lasts without a heartbeat (the edge beats every HEARTBEAT).
HEARTBEAT = 20
PRESENCE_SECONDS = 3 * HEARTBEAT


class EdgeOffline(DomainError):
    status = 503
    code = "edge_offline"


class EdgeTimeout(DomainError):
    status = 504
    code = "edge_timeout"


def timeout() -> float:
    return float(getattr(settings, "PATHOLOGY_EDGE_TIMEOUT", DEFAULT_TIMEOUT))


def presence_key(edge_user_id: int) -> str:
    return f"pathology:edge:{edge_user_id}"


def is_online(edge_user_id: int | None) -> bool:
    return edge_user_id is not None and cache.get(presence_key(edge_user_id)) is not None


def _busy() -> EdgeOffline:
    return EdgeOffline(
        gettext("The sending hospital's edge gateway is busy with other requests; try again.")
    )


def _offline() -> EdgeOffline:
    return EdgeOffline(
        gettext(
            "The sending hospital's edge gateway is not connected, and the slide's file has "
            "not arrived yet: it can be viewed when the edge reconnects."
        )
    )


async def _ask(edge_user_id: int, request: dict[str, Any], seconds: float) -> dict[str, Any]:
    channel = await cache.aget(presence_key(edge_user_id))
    if channel is None:
        raise _offline()
    layer = get_channel_layer()
    assert layer is not None
    reply = await layer.new_channel("pathology-edge-reply")
    try:
        await layer.send(
            channel,
            {
                "type": "edge.ask",
                "reply_to": reply,
                "request": {**request, "id": uuid.uuid4().hex},
            },
        )
    except ChannelFull:
        raise _busy() from None
    try:
        async with asyncio.timeout(seconds):
            answer: dict[str, Any] = await layer.receive(reply)
    except TimeoutError:
        raise EdgeTimeout(
            gettext("The sending hospital's edge gateway did not answer within %(s)s seconds.")
            % {"s": f"{seconds:g}"}
        ) from None
    return answer


def ask(edge_user_id: int | None, request: dict[str, Any]) -> bytes:
    """The edge's answer to ``request`` (its bytes), or the refusal it gave (404 for an
    address outside the slide, 422 for pixels that do not decode), 503 while no edge is
    connected, 504 when it did not answer in time."""
    if edge_user_id is None:
        raise _offline()
    answer = async_to_sync(_ask)(edge_user_id, request, timeout())
    status = int(answer.get("status", 502))
    if status == 200:
        return bytes(answer["body"])
    message = str(answer.get("message", ""))[:300]
    if status == 404:
        raise NotFound(message)
    if status == 503:
        # The consumer's own answers: the edge left while asked, or too much is waiting.
        raise _busy() if message == "busy" else _offline()
    raise ValidationFailed(
        gettext("The edge gateway could not read the slide: %(reason)s") % {"reason": message}
    )


def tile(edge_user_id: int | None, source: str, dz_size: tuple[int, int], address: Any) -> bytes:
    """A tile of a slide still at the edge: checked against its DeepZoom layout here (an
    address outside it never crosses the link), then from the cache or the edge."""
    level, col, row = address
    slides.check_address(slides.deepzoom_tiles(*dz_size), level, col, row)
    key = slides.tile_key(source, level, col, row)
    cached = cache.get(key)
    if cached is not None:
        return bytes(cached)
    sha256, _, entry = source.partition(":")
    data = ask(
        edge_user_id,
        {"type": "tile", "sha256": sha256, "entry": entry, "level": level, "col": col, "row": row},
    )
    cache.set(key, data, slides.TILE_CACHE_SECONDS)
    return data


def associated(edge_user_id: int | None, source: str, name: str) -> bytes:
    sha256, _, entry = source.partition(":")
    return ask(edge_user_id, {"type": "associated", "sha256": sha256, "entry": entry, "name": name})


def region(edge_user_id: int | None, source: str, box: tuple[int, int, int, int]) -> bytes:
    sha256, _, entry = source.partition(":")
    x, y, width, height = box
    return ask(
        edge_user_id,
        {
            "type": "region",
            "sha256": sha256,
            "entry": entry,
            "x": x,
            "y": y,
            "width": width,
            "height": height,
        },
    )


def tell_upload_now(edge_user_id: int, slide_id: int) -> bool:
    """Pass an expert's "upload now" to the edge if it is connected (True); otherwise the
    request waits on the slide and the consumer passes it on when the edge reconnects."""
    channel = cache.get(presence_key(edge_user_id))
    if channel is None:
        return False
    layer = get_channel_layer()
    assert layer is not None
    async_to_sync(layer.send)(channel, {"type": "edge.upload_now", "slide": slide_id})
    return True
