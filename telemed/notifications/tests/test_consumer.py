"""The notifications socket: signed-in people only, each hears only their own."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.contrib.auth.models import AnonymousUser

from telemed.accounts.models import Role
from telemed.core.realtime import websocket_urlpatterns
from telemed.notifications import services
from telemed.notifications.models import Notification
from telemed.notifications.testing import WebsocketCommunicator, run_async
from telemed.testing import build_network, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/notifications/")
    comm.scope["user"] = user
    comm.scope["session"] = {}
    return comm


@pytest.fixture
def people(settings):
    settings.REQUIRE_SECOND_FACTOR = False
    network = build_network()
    return (
        make_user("alice", Role.REQUESTING_DOCTOR, network.county_a),
        make_user("bob", Role.REQUESTING_DOCTOR, network.county_a),
    )


def test_anonymous_and_inactive_are_rejected(people):
    alice, _ = people
    alice.is_active = False
    alice.save()

    async def scenario():
        for user in (AnonymousUser(), alice):
            assert not (await communicator(user).connect())[0]

    run_async(scenario)


def test_idle_session_is_rejected(people):
    import time

    alice, _ = people

    async def scenario():
        comm = communicator(alice)
        comm.scope["session"] = {"telemed_last_seen": int(time.time()) - 10 * 3600}
        assert not (await comm.connect())[0]

    run_async(scenario)


def test_each_hears_only_their_own(people):
    alice, bob = people
    Notification.objects.create(recipient=alice, kind="t", title="earlier")

    async def scenario():
        comm = communicator(alice)
        assert (await comm.connect())[0]
        assert await comm.receive_json_from() == {"type": "unread", "unread": 1}
        await database_sync_to_async(services.notify)([bob], "t", "for bob")
        assert await comm.receive_nothing(timeout=0.3)
        await database_sync_to_async(services.notify)([alice], "t", "for alice", link="/x/")
        message = await comm.receive_json_from()
        assert message["type"] == "notification" and message["unread"] == 2
        assert message["notification"]["title"] == "for alice"
        assert message["notification"]["link"] == "/x/"
        await database_sync_to_async(services.mark_all_read)(alice)
        assert await comm.receive_json_from() == {"type": "unread", "unread": 0}
        await comm.send_to("ping")
        assert await comm.receive_json_from() == {"type": "pong"}
        await comm.disconnect()

    run_async(scenario)


def test_an_open_socket_is_closed_when_its_session_idles_out(people, monkeypatch):
    import time

    from telemed.notifications import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.05)
    alice, _ = people

    async def scenario():
        comm = communicator(alice)
        comm.scope["session"] = {"telemed_last_seen": int(time.time())}
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from())["type"] == "unread"
        assert await comm.receive_nothing(timeout=0.2)  # still signed in: stays open
        comm.scope["session"]["telemed_last_seen"] = int(time.time()) - 10 * 3600
        closed = await comm.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": consumers.SESSION_ENDED}

    run_async(scenario)


def test_an_open_socket_is_closed_when_its_person_is_deactivated(people, monkeypatch):
    from telemed.notifications import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.05)
    alice, _ = people

    async def scenario():
        comm = communicator(alice)
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from())["type"] == "unread"
        await database_sync_to_async(
            lambda: type(alice).objects.filter(pk=alice.pk).update(is_active=False)
        )()
        closed = await comm.receive_output(timeout=3)
        assert closed["code"] == consumers.SESSION_ENDED

    run_async(scenario)


def test_a_signed_out_session_ends_its_socket(people):
    from django.contrib.sessions.backends.cached_db import SessionStore

    from telemed.notifications.consumers import still_admitted

    alice, _ = people
    session = SessionStore()
    session["telemed_last_seen"] = int(__import__("time").time())
    session.create()
    assert still_admitted({"user": alice, "session": session})
    session.delete()
    assert not still_admitted({"user": alice, "session": session})
