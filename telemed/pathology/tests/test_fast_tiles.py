"""The tile fast path in front of Django (``telemed.asgi``): tiles on a tile token handed
out by the audited slide read, the same bytes as the Django view's, and everything it cannot
vouch for left to the view, which refuses it as before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from telemed.asgi import application
from telemed.pathology import fast_tiles, testing, tile_tokens
from telemed.pathology.models import Slide, SlideState
from telemed.testing import sign_in


@pytest.fixture
def assigned(team, case, svs: Path):
    slide = testing.upload(team.requester, case, svs)
    testing.assign(team, case)
    fast_tiles.memory.clear()
    return slide


def asgi_get(
    path: str, query: str = "", headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request through the real ASGI application, as uvicorn would make it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    requested: list[bool] = []

    async def receive() -> dict[str, Any]:
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: Django cancels this when it is done
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await application(scope, receive, send)

    # As Django's test clients do: the view must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(call)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], answer_headers, body


def _token(client, user, slide: Slide) -> str:
    sign_in(client, user)
    details = client.get(f"/api/pathology/slides/{slide.pk}").json()
    assert details["dzi_url"].endswith(f"?tt={details['tile_token']}")
    return str(details["tile_token"])


def _session(client) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())}


def test_a_tile_on_its_token_is_the_views_tile(client, team, assigned) -> None:
    slide = assigned
    token = _token(client, team.expert, slide)
    tile = f"/api/pathology/slides/{slide.pk}/slide_files/11/3_2.jpeg"
    status, headers, body = asgi_get(tile, f"tt={token}")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert headers["cache-control"].startswith("private")
    # Served from the per-process memory now, not by the view.
    assert fast_tiles.memory.get(next(iter(fast_tiles.memory._tiles))) == body
    view = client.get(tile)
    assert view.status_code == 200 and view.content == body and view["ETag"] == headers["etag"]
    again, _, empty = asgi_get(tile, f"tt={token}", {"If-None-Match": headers["etag"]})
    assert (again, empty) == (304, b"")
    head, head_headers, nothing = asgi_get(tile, f"tt={token}", method="HEAD")
    assert (head, nothing, head_headers["content-length"]) == (200, b"", str(len(body)))
    # The descriptor's URL carries the token too; DeepZoom clients pass it on to tiles.
    dzi, _, xml = asgi_get(f"/api/pathology/slides/{slide.pk}/slide.dzi", f"tt={token}")
    assert dzi == 401 and b"<Image" not in xml  # the token opens tiles only, not the slide


def test_without_a_good_token_the_view_decides(
    client, team, charlie, assigned, generic: Path
) -> None:
    slide = assigned
    token = _token(client, team.expert, slide)
    tile = f"/api/pathology/slides/{slide.pk}/slide_files/11/3_2.jpeg"
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    expired = tile_tokens.issue(team.expert.pk, slide.pk, slide.source, now=time.time() - 301)
    other = testing.upload(team.requester, slide.consultation, generic)
    for query in ("", "tt=", f"tt={altered}", f"tt={expired}", "tt=%ff%fe", "tt=a.b.c.d.e"):
        status, _, body = asgi_get(tile, query)
        assert status == 401, (query, status)
        assert not body.startswith(b"\xff\xd8")
    # A token for one slide opens no other slide.
    status, _, _ = asgi_get(
        f"/api/pathology/slides/{other.pk}/slide_files/11/0_0.jpeg", f"tt={token}"
    )
    assert status == 401
    # A bad token beside the person's own session: the view serves them as before.
    status, _, body = asgi_get(tile, f"tt={altered}", _session(client))
    assert status == 200 and body.startswith(b"\xff\xd8")
    # An outsider gets no token, and the view refuses their session.
    sign_in(client, charlie)
    assert client.get(f"/api/pathology/slides/{slide.pk}").status_code == 404
    assert asgi_get(tile, f"tt={altered}", _session(client))[0] == 404


@pytest.mark.parametrize(
    "tail", ["12/0_0.jpeg", "11/9_0.jpeg", "99999/0_0.jpeg", "1/999999999_0.jpeg"]
)
def test_addresses_outside_the_slide_get_the_views_404(client, team, assigned, tail) -> None:
    slide = assigned
    token = _token(client, team.expert, slide)
    status, _, body = asgi_get(
        f"/api/pathology/slides/{slide.pk}/slide_files/{tail}", f"tt={token}", _session(client)
    )
    assert status == 404 and b"message" in body


def test_slides_not_served_here_get_no_token(client, team, assigned) -> None:
    slide = assigned
    Slide.objects.unscoped("test: a failed slide").filter(pk=slide.pk).update(
        state=SlideState.FAILED, failure_reason="broken"
    )
    sign_in(client, team.expert)
    details = client.get(f"/api/pathology/slides/{slide.pk}").json()
    assert details["tile_token"] is None and "?" not in details["dzi_url"]


def test_tokens_verify_without_shared_state(team, assigned, settings) -> None:
    """Another worker process has an empty memory and only the secret key in common."""
    slide = assigned
    token = tile_tokens.issue(team.expert.pk, slide.pk, slide.source)
    fast_tiles.memory.clear()
    assert tile_tokens.verify(token, slide.pk) == slide.source
    assert tile_tokens.verify(token, slide.pk + 1) is None
    settings.SECRET_KEY = "another deployment's key, long enough to be a key"
    assert tile_tokens.verify(token, slide.pk) is None
