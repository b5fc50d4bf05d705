"""Pushing to WebSocket groups from synchronous code (services, event subscribers, jobs).

The channel layer is asynchronous. From a Django view served by uvicorn, ``async_to_sync``
already runs the send on the server's event loop. Code running in a plain thread (the test
thread, a benchmark's writer, a job) would otherwise start a loop of its own, and the
in-memory layer's queues belong to the loop the consumers wait on: so the consumers record
their loop when they connect, and a send from any other thread is handed to that loop.
Redis (``REDIS_URL``) works from any loop; the hand-over does no harm there.

A push is best effort: the notification rows are already committed, a page that missed a
push catches up on its next load (and the pages refresh when their socket reconnects).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

_consumer_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def remember_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by consumers on connect: the loop in-memory group sends must run on."""
    global _consumer_loop
    with _lock:
        _consumer_loop = loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _log_failure(future: Future[Any]) -> None:
    error = future.exception()
    if error is not None:
        logger.error("push to a channel group failed: %r", error)


def group_send(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` from synchronous code; never raises for a lost push."""
    layer = get_channel_layer()
    if layer is None:
        return
    target = _consumer_loop
    if isinstance(layer, InMemoryChannelLayer) and (target is None or target.is_closed()):
        return  # an in-memory layer reaches this process only, where nobody is connected
    try:
        if target is not None and target.is_running() and not target.is_closed():
            if _running_loop() is target:
                # Synchronous code on the consumers' own loop (should not happen): schedule.
                target.create_task(layer.group_send(group, message))
                return
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), target)
            future.add_done_callback(_log_failure)
            return
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("push to %s failed", group)
