"""The ECG socket: a new ECG reaches every on-duty expert of its pool at once (and nobody
else), a claim shows who took it, the report reaches the requesting site."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.contrib.auth.models import AnonymousUser

from telemed.accounts.models import Role
from telemed.core.realtime import websocket_urlpatterns
from telemed.ecg import reports, services
from telemed.ecg.testing import build_world, send
from telemed.notifications.testing import WebsocketCommunicator, run_async
from telemed.testing import build_network, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(settings):
    settings.REQUIRE_SECOND_FACTOR = False
    return build_world(build_network())


def communicator(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/ecg/")
    comm.scope["user"] = user
    comm.scope["session"] = {}
    return comm


async def connected(user) -> WebsocketCommunicator:
    comm = communicator(user)
    ok, _ = await comm.connect()
    assert ok
    assert (await comm.receive_json_from())["type"] == "hello"
    return comm


def test_anonymous_and_managers_are_refused(world):
    manager = make_user("mgr", Role.CONSULTATION_MANAGER, world.network.province)

    async def scenario():
        for user in (AnonymousUser(), manager):
            ok, _ = await communicator(user).connect()
            assert not ok

    run_async(scenario)


def test_new_claim_and_report_reach_the_right_people(world):
    first, second = world.experts[:2]

    async def scenario():
        a, b = await connected(first), await connected(second)
        off, other = await connected(world.off_duty), await connected(world.other_pool_expert)
        site = await connected(world.requester)
        case = await database_sync_to_async(send)(world, heart_rate=35)
        for comm in (a, b):
            message = await comm.receive_json_from()
            assert message["type"] == "new"
            row = message["row"]
            assert (row["id"], row["critical"], row["state"]) == (case.pk, True, "accepted")
            assert world.patient.name not in str(message)
        assert await off.receive_nothing(timeout=0.2)
        assert await other.receive_nothing(timeout=0.2)
        assert (await site.receive_json_from())["action"] == "submit"

        await database_sync_to_async(services.claim)(first, case.pk)
        for comm in (a, b):
            message = await comm.receive_json_from()
            assert message == {
                "type": "taken",
                "id": case.pk,
                "by": {"id": first.pk, "name": services.display_name(first)},
            }
        assert (await site.receive_json_from())["action"] == "claim"

        await database_sync_to_async(reports.sign_report)(
            first, case.pk, reports.ReportDraft(phrases=("sinus_bradycardia",))
        )
        message = await site.receive_json_from()
        assert (message["type"], message["id"], message["action"], message["state"]) == (
            "changed",
            case.pk,
            "conclude",
            "concluded",
        )
        assert await b.receive_nothing(timeout=0.2)
        for comm in (a, b, off, other, site):
            await comm.disconnect()

    run_async(scenario)


def test_another_sites_doctor_hears_nothing(world):
    charlie = make_user("charlie", Role.REQUESTING_DOCTOR, world.network.county_b)

    async def scenario():
        theirs = await connected(charlie)
        await database_sync_to_async(send)(world)
        assert await theirs.receive_nothing(timeout=0.3)
        await theirs.disconnect()

    run_async(scenario)


def test_an_escalated_ecg_reaches_the_escalation_pool(world, settings):
    import datetime as dt

    from telemed.core import clock
    from telemed.ecg import jobs

    settings.ECG_ESCALATE_MINUTES = 10
    start = clock.now()

    async def scenario():
        city = await connected(world.escalation_expert)
        case = await database_sync_to_async(send)(world)
        assert await city.receive_nothing(timeout=0.3)  # not its pool, yet

        def later() -> int:
            with clock.frozen_at(start + dt.timedelta(minutes=11)):
                return jobs.escalate_unclaimed()

        assert await database_sync_to_async(later)() == 1
        message = await city.receive_json_from()
        assert (message["type"], message["row"]["id"]) == ("new", case.pk)
        await city.disconnect()

    run_async(scenario)
