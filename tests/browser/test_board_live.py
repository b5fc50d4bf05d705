"""The day's board in a real browser: a change made elsewhere shows up without a reload.

pytest-django's live server speaks WSGI only, so the board is served here by uvicorn with the
ASGI application (HTTP and WebSockets), in a thread, against the test database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from django.utils import timezone

from telemed.consultations import services
from telemed.consultations.testing import advance, build_team, draft
from telemed.testing import PASSWORD, build_network, make_user
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def today_at(hour: int) -> dt.datetime:
    return dt.datetime.combine(
        timezone.localdate(), dt.time(hour), tzinfo=timezone.get_current_timezone()
    )


def _application():  # type: ignore[no-untyped-def]
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from telemed.asgi import application

    return ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": application.application_mapping["websocket"],
        }
    )


@pytest.fixture
def asgi_server(transactional_db) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """uvicorn on 127.0.0.1 and a free port; stopped at teardown."""
    # IPPROTO_TCP named, or asyncio leaves Nagle on for the accepted sockets (40 ms stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_application(), lifespan="off", log_level="warning", ws="websockets-sansio")
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def board_page(browser, asgi_server, no_second_factor):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def sign_in_to(page, base: str, username: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/accounts/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=sign-in-submit]")
    page.wait_for_url(f"{base}{path}")


def test_the_board_updates_live(board_page, asgi_server):
    network = build_network()
    team = build_team(network, make_user("alice", "requesting_doctor", network.county_a))
    started = advance(
        team, draft(team, patient_name="张一", record="A-1"), "scheduled", start=today_at(9)
    )
    coming = advance(team, draft(team, patient_name="张二", record="A-2"), "assigned")

    page = board_page.new_page()
    sign_in_to(page, asgi_server, "manager", "/board/")
    wall = board_page.new_page()
    wall.goto(f"{asgi_server}/board/?wall=1")
    for shown in (page, wall):
        shown.locator("[data-testid=board-live][data-state=live]").wait_for(timeout=10_000)
        assert shown.locator("[data-testid=board-total]").inner_text() == "1"
        # A marker that a reload would wipe.
        shown.evaluate("window.__notReloaded = true")

    # A manager books the second case for today: it appears on both, in time order.
    services.schedule(team.manager, coming.pk, start=today_at(10), room_id=team.room.pk)
    for shown in (page, wall):
        row = shown.locator(f'[data-testid=board-row][data-case="{coming.number}"]')
        row.wait_for(timeout=5_000)
        assert shown.locator("[data-testid=board-total]").inner_text() == "2"
        numbers = shown.locator("[data-testid=board-row]").evaluate_all(
            "rows => rows.map(r => r.dataset.case)"
        )
        assert numbers == [started.number, coming.number]

    # The expert starts the first session: its state changes in place.
    services.start_session(team.expert, started.pk)
    for shown in (page, wall):
        shown.locator(
            f'[data-testid=board-row][data-case="{started.number}"][data-state="in_session"]'
        ).wait_for(timeout=5_000)
        assert shown.locator("[data-testid=board-in-session]").inner_text() == "1"
        assert shown.evaluate("window.__notReloaded === true")
    assert wall.locator("[data-testid=navbar]").count() == 0
    screenshot(page, "board.png")
    screenshot(wall, "board-wall.png")
