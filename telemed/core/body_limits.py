"""How large a request body may be, by path, decided before the body is read.

Everything is limited to ``MAX_REQUEST_BYTES`` (forms and JSON) unless an app registers a
larger limit for its upload prefix (attachments now; DICOMweb and slides later). Two guards
apply the same table: ``BodySizeGuard`` around the ASGI application, because Django's ASGI
handler reads the whole body (to a temporary file) before any middleware runs, and the
Django middleware for the WSGI server and the test client.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

_limits: dict[str, Callable[[], int]] = {}

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def register(prefix: str, limit: Callable[[], int]) -> None:
    """Let bodies under ``prefix`` be as large as ``limit()`` (read at each request, so that
    settings changed in tests apply)."""
    _limits[prefix] = limit


def limit_for(path: str) -> int:
    matches = [prefix for prefix in _limits if path.startswith(prefix)]
    if matches:
        return _limits[max(matches, key=len)]()
    return int(settings.MAX_REQUEST_BYTES)


def too_large(path: str, declared: str | bytes | None) -> int | None:
    """The limit when the declared length exceeds it, else None (a malformed length is left
    to Django, which answers 400)."""
    if declared is None or declared in ("", b""):
        return None
    try:
        length = int(declared)
    except ValueError:
        return None
    limit = limit_for(path)
    return limit if length > limit else None


def refusal(limit: int) -> dict[str, Any]:
    return {
        "error": "too_large",
        "message": f"The request body is larger than the limit of {limit} bytes.",
        "max_bytes": limit,
    }


# How a border that speaks a standard writes a refusal made before any of its views runs
# (FHIR: an OperationOutcome), by path prefix: (status, refusal) -> (content type, body).
Renderer = Callable[[int, dict[str, Any]], tuple[str, bytes]]
_renderers: dict[str, Renderer] = {}


def register_renderer(prefix: str, render: Renderer) -> None:
    _renderers[prefix] = render


def rendered(path: str, status: int, body: dict[str, Any]) -> tuple[str, bytes]:
    """The refusal ``body`` (``{"error", "message", ...}``) as the path's border writes it;
    plain JSON unless an app registered a renderer for the path."""
    matches = [prefix for prefix in _renderers if path.startswith(prefix)]
    if matches:
        return _renderers[max(matches, key=len)](status, body)
    return "application/json", json.dumps(body).encode()


class BodySizeGuard:
    """ASGI middleware: answer 413 by the Content-Length header, before receiving the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope.get("type") == "http":
            headers = dict(scope.get("headers") or ())
            path = str(scope.get("path", ""))
            limit = too_large(path, headers.get(b"content-length"))
            if limit is not None:
                content_type, body = rendered(path, 413, refusal(limit))
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
