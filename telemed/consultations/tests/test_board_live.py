"""The board's socket: who may connect, and which changes reach whom."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from telemed.accounts.models import Role
from telemed.consultations import realtime, services
from telemed.consultations.testing import CHECKLIST, advance, build_team, draft
from telemed.core.realtime import websocket_urlpatterns
from telemed.notifications.testing import WebsocketCommunicator, run_async
from telemed.testing import build_network, make_expert, make_user, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def today_at(hour: int) -> dt.datetime:
    return dt.datetime.combine(
        timezone.localdate(), dt.time(hour), tzinfo=timezone.get_current_timezone()
    )


@pytest.fixture
def world(settings):
    settings.REQUIRE_SECOND_FACTOR = False
    network = build_network()
    team = build_team(network, make_user("alice", Role.REQUESTING_DOCTOR, network.county_a))
    charlie = make_user("charlie", Role.REQUESTING_DOCTOR, network.county_b)
    return {
        "network": network,
        "team": team,
        "charlie_team": dataclasses.replace(team, requester=charlie),
        "city_a_manager": make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a),
        "city_b_manager": make_user("city_b_mgr", Role.CONSULTATION_MANAGER, network.city_b),
    }


def communicator(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/board/")
    comm.scope["user"] = user
    comm.scope["session"] = {}
    return comm


def run(scenario):
    run_async(scenario)


def test_anonymous_is_rejected(world):
    async def scenario():
        comm = communicator(AnonymousUser())
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_a_role_without_the_board_is_rejected(world):
    pharmacist = make_user("pharm", Role.PHARMACIST, world["network"].county_a)

    async def scenario():
        comm = communicator(pharmacist)
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_second_factor_is_required_when_on(world, settings):
    settings.REQUIRE_SECOND_FACTOR = True

    async def scenario():
        comm = communicator(world["team"].manager)  # a manager, no verified device in session
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_in_scope_change_is_forwarded_and_out_of_scope_is_not(world):
    team, charlie_team = world["team"], world["charlie_team"]
    mine = advance(team, draft(team, patient_name="张一", record="A-1"), "assigned")
    theirs = advance(
        charlie_team, draft(charlie_team, patient_name="李一", record="B-1"), "assigned"
    )
    patient_name = mine.patient.name

    async def scenario():
        comm = communicator(world["city_a_manager"])
        connected, _ = await comm.connect()
        assert connected
        # City B's case is booked for today: city A's board hears nothing of it.
        await database_sync_to_async(services.schedule)(
            team.manager, theirs.pk, start=today_at(10), room_id=team.room.pk
        )
        assert await comm.receive_nothing(timeout=0.3)
        # City A's case is booked for today: the board is told to refresh.
        await database_sync_to_async(services.schedule)(
            team.manager, mine.pk, start=today_at(9), room_id=team.room.pk
        )
        message = await comm.receive_json_from(timeout=3)
        html = message.pop("html")
        assert message == {
            "type": "changed",
            "id": mine.pk,
            "number": mine.number,
            "state": "scheduled",
            "action": "schedule",
        }
        # The viewer's own rows come with it: city A's case, not city B's, no patient.
        assert mine.number in html and theirs.number not in html
        assert 'data-testid="board-total">1<' in html
        assert patient_name not in html
        await comm.disconnect()

    run(scenario)


def test_changes_off_the_board_are_not_forwarded(world):
    team = world["team"]
    case = advance(team, draft(team), "submitted")

    async def scenario():
        comm = communicator(team.manager)  # the province: everything is in scope
        assert (await comm.connect())[0]
        # Accepted, not booked for today: the board's rows are as they were.
        await database_sync_to_async(services.quality_check)(
            team.qc, case.pk, accept=True, checklist=CHECKLIST
        )
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)


def test_a_case_leaving_an_experts_board_is_forwarded_without_details(world):
    team, network = world["team"], world["network"]
    other = make_expert("dr_li", network.province, network.cardiology)
    case = advance(team, draft(team), "scheduled", start=today_at(9))

    async def scenario():
        comm = communicator(team.expert)
        assert (await comm.connect())[0]
        await database_sync_to_async(services.triage)(
            team.manager, case.pk, expert_id=other.pk, reassign=True
        )
        # Reassigned to dr_li: dr_wang's board drops the row, and learns nothing more.
        message = await comm.receive_json_from(timeout=3)
        assert message["type"] == "changed" and message["id"] == case.pk
        assert set(message) == {"type", "id", "html"}
        assert case.number not in message["html"]
        assert 'data-testid="board-total">0<' in message["html"]
        await comm.disconnect()

    run(scenario)


def test_expert_hears_only_their_cases(world):
    team, network = world["team"], world["network"]
    other = make_expert("dr_li", network.province, network.cardiology)
    case = advance(team, draft(team), "accepted")

    async def scenario():
        comm = communicator(other)
        assert (await comm.connect())[0]
        await database_sync_to_async(services.triage)(
            team.manager, case.pk, expert_id=team.expert.pk
        )
        await database_sync_to_async(services.schedule)(
            team.manager, case.pk, start=today_at(9), room_id=team.room.pk
        )
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)


def test_full_stack_with_the_session_cookie(world, settings):
    """Through the real ASGI application: session cookie, origin check, second factor."""
    settings.REQUIRE_SECOND_FACTOR = True
    from telemed.asgi import application

    team = world["team"]
    case = advance(team, draft(team), "assigned")
    browser = Client()
    sign_in(browser, team.manager)  # signs in with a verified TOTP device
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def scenario():
        stranger = WebsocketCommunicator(
            application, "/ws/board/", headers=[(b"origin", b"http://testserver")]
        )
        assert not (await stranger.connect())[0]
        foreign = WebsocketCommunicator(
            application,
            "/ws/board/",
            headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)],
        )
        assert not (await foreign.connect())[0]
        comm = WebsocketCommunicator(
            application,
            "/ws/board/",
            headers=[(b"origin", b"http://testserver"), (b"cookie", cookie)],
        )
        assert (await comm.connect())[0]
        await database_sync_to_async(services.schedule)(
            team.manager, case.pk, start=today_at(9), room_id=team.room.pk
        )
        assert (await comm.receive_json_from(timeout=3))["id"] == case.pk
        await comm.disconnect()

    run(scenario)


def test_scope_check_mirrors_visible_to():
    from telemed.accounts.scoping import Scope

    payload = {
        "requesting_institution_id": 1,
        "assigned_institution_id": 2,
        "assigned_expert_id": 9,
    }
    assert realtime.in_scope(Scope(everything=True), payload)
    assert realtime.in_scope(Scope(institution_ids=frozenset({1})), payload)
    assert realtime.in_scope(Scope(institution_ids=frozenset({2})), payload)
    assert not realtime.in_scope(Scope(institution_ids=frozenset({3})), payload)
    assert realtime.in_scope(Scope(grantee_user_id=9), payload)
    assert not realtime.in_scope(Scope(grantee_user_id=8), payload)
    assert not realtime.in_scope(Scope(patient_id=1), payload)


def test_viewers_of_one_scope_share_one_rendering_in_their_language(world):
    team = world["team"]
    case = advance(team, draft(team), "assigned")
    renders: list[str] = []
    original = realtime._rows

    def counting(user, wall, language):
        renders.append(language)
        return original(user, wall, language)

    realtime._rows = counting
    try:

        async def scenario():
            viewers = [communicator(team.manager) for _ in range(3)]
            viewers.append(communicator(team.qc))  # the province too: the same scope
            english = WebsocketCommunicator(
                URLRouter(websocket_urlpatterns), "/ws/board/", query_string=b"lang=en&wall=1"
            )
            english.scope["user"] = team.manager
            english.scope["session"] = {}
            viewers.append(english)
            for comm in viewers:
                assert (await comm.connect())[0]
            await database_sync_to_async(services.schedule)(
                team.manager, case.pk, start=today_at(9), room_id=team.room.pk
            )
            messages = [await comm.receive_json_from(timeout=3) for comm in viewers]
            assert all(case.number in m["html"] for m in messages)
            assert len({m["html"] for m in messages[:4]}) == 1
            assert "Today" in messages[4]["html"] and "board-table" in messages[4]["html"]
            for comm in viewers:
                await comm.disconnect()

        run(scenario)
    finally:
        realtime._rows = original
    assert sorted(renders) == ["en", "zh-hans"]
