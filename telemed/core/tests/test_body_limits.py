"""The ASGI guard answers 413 by Content-Length without receiving the body."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telemed.core import body_limits
from telemed.core.body_limits import BodySizeGuard


def _run(guard: BodySizeGuard, path: str, length: int) -> tuple[list[str], list[dict[str, Any]]]:
    called: list[str] = []
    sent: list[dict[str, Any]] = []

    async def inner(scope, receive, send):
        called.append(scope["path"])

    async def receive():
        raise AssertionError("the body was received")

    async def send(message):
        sent.append(message)

    guard.app = inner
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", str(length).encode())],
    }
    # A thread of its own: the browser tests keep an event loop running in the main thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()
    return called, sent


def test_default_limit_applies_everywhere(settings):
    settings.MAX_REQUEST_BYTES = 5_000
    guard = BodySizeGuard(None)  # type: ignore[arg-type]
    called, sent = _run(guard, "/api/consultations/", 5_001)
    assert called == [] and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["max_bytes"] == 5_000
    called, _ = _run(guard, "/api/consultations/", 5_000)
    assert called == ["/api/consultations/"]


def test_registered_prefix_has_its_own_limit(settings):
    settings.MAX_REQUEST_BYTES = 5_000
    settings.ATTACHMENT_MAX_BYTES = 100_000
    guard = BodySizeGuard(None)  # type: ignore[arg-type]
    called, _ = _run(guard, "/uploads/consultations/1/attachments", 50_000)
    assert called == ["/uploads/consultations/1/attachments"]
    called, sent = _run(guard, "/uploads/consultations/1/attachments", 100_001)
    assert called == [] and sent[0]["status"] == 413
    assert body_limits.limit_for("/uploads/consultations/9/attachments") == 100_000
