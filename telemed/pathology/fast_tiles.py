"""The fast path for DeepZoom tiles, an ASGI layer in front of Django.

A viewer fetches hundreds of tiles per slide; through Django each paid the middleware
stack, authentication and a scope query (about 8.5 ms) before the tile itself. Here a tile
URL that carries a tile token (``?tt=``, see ``tile_tokens``: handed out by the audited,
scoped read of the slide, and passed on by DeepZoom clients from the descriptor's URL to
every tile's) is answered from a per-process memory of tile bytes, then the Django cache,
then OpenSlide, with no database and no session.

Anything else goes on to Django unchanged: other paths and methods, tiles without a token
or with an expired, altered or foreign one (the view then checks the caller's own
credentials), and tiles the fast path cannot serve (an address outside the slide, a file
that does not decode), so that refusals keep their translated reasons. Slides still at the
sending hospital get no token: their tiles are relayed by the Django view.

Several worker processes need nothing shared: the token is checked with a key derived from
``SECRET_KEY``, and tiles are addressed by content hash, so each process's memory can only
ever hold correct bytes.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import openslide

from telemed.core.errors import DomainError
from telemed.pathology import slides, tile_tokens

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
# Bounded digits: no address can make int() or a level check slow.
TILE_PATH = re.compile(
    r"/api/pathology/slides/(\d{1,12})/slide_files/(\d{1,4})/(\d{1,9})_(\d{1,9})\.jpeg"
)
MEMORY_BYTES = 64 * 1024 * 1024
CACHE_CONTROL = b"private, max-age=86400, immutable"  # as the Django view's


class TileMemory:
    """Tile bytes by cache key, least recently used first out, bounded in bytes."""

    def __init__(self, limit: int = MEMORY_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._tiles: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._tiles.get(key)
            if data is not None:
                self._tiles.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.limit:
            return
        with self._lock:
            previous = self._tiles.pop(key, None)
            if previous is not None:
                self.size -= len(previous)
            self._tiles[key] = data
            self.size += len(data)
            while self.size > self.limit:
                _, dropped = self._tiles.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()
            self.size = 0


memory = TileMemory()


def _token(query_string: bytes) -> str | None:
    try:
        values = parse_qs(query_string.decode("ascii"), max_num_fields=8).get(
            tile_tokens.QUERY_NAME
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def _answer(
    send: Callable[[Any], Awaitable[None]], status: int, etag: str, body: bytes, head: bool
) -> None:
    headers = [
        (b"etag", etag.encode()),
        (b"cache-control", CACHE_CONTROL),
        (b"x-content-type-options", b"nosniff"),
    ]
    if status == 200:
        headers += [(b"content-type", b"image/jpeg"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head or status != 200 else body})


class FastTiles:
    """The ASGI layer: tokened tile requests answered here, everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if await self._served(scope, send):
            return
        await self.app(scope, receive, send)

    async def _served(self, scope: dict[str, Any], send: Callable[[Any], Awaitable[None]]) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        match = TILE_PATH.fullmatch(scope["path"])
        if match is None:
            return False
        token = _token(scope.get("query_string", b""))
        source = tile_tokens.verify(token, int(match[1])) if token else None
        if source is None:
            return False
        level, col, row = int(match[2]), int(match[3]), int(match[4])
        etag = slides.tile_etag(source, level, col, row)
        head = scope["method"] == "HEAD"
        if _header(scope, b"if-none-match") == etag.encode():
            await _answer(send, 304, etag, b"", head)
            return True
        key = slides.tile_key(source, level, col, row)
        data = memory.get(key)
        if data is None:
            try:
                # OpenSlide and the JPEG encoder release the GIL: rendering runs in threads.
                data = await asyncio.to_thread(slides.tile, source, level, col, row)
            except (DomainError, OSError, openslide.OpenSlideError):
                return False  # the view gives the reason, in the caller's language
            memory.put(key, data)
        await _answer(send, 200, etag, data, head)
        return True
