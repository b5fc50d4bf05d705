"""Two managers at once, on real connections: exactly one wins, the other gets 409."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from telemed.accounts.models import Role
from telemed.consultations import services
from telemed.consultations.models import Consultation, ConsultationEvent
from telemed.consultations.testing import advance, build_team, draft
from telemed.core.errors import Conflict, InvalidTransition
from telemed.testing import build_network, make_expert, make_user

pytestmark = pytest.mark.django_db(transaction=True)
NINE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _race(*actions):
    """Run the actions in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def setup():
    network = build_network()
    team = build_team(network, make_user("alice", Role.REQUESTING_DOCTOR, network.county_a))
    other_manager = make_user("manager2", Role.CONSULTATION_MANAGER, network.province)
    other_expert = make_expert("dr_li", network.province, network.cardiology)
    return team, other_manager, other_expert


def test_two_managers_triage_the_same_case(setup):
    team, other_manager, other_expert = setup
    case = advance(team, draft(team), "accepted")
    results = _race(
        lambda: services.triage(team.manager, case.pk, expert_id=team.expert.pk),
        lambda: services.triage(other_manager, case.pk, expert_id=other_expert.pk),
    )
    wins = [r for r in results if isinstance(r, Consultation)]
    losses = [r for r in results if isinstance(r, InvalidTransition)]
    assert (len(wins), len(losses)) == (1, 1), results
    assert losses[0].status == 409
    saved = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert saved.assigned_expert_id == wins[0].assigned_expert_id
    assert (
        ConsultationEvent.objects.unscoped("test")
        .filter(consultation=case, action="triage")
        .count()
        == 1
    )


def test_two_managers_book_the_same_room_at_once(setup):
    team, other_manager, _ = setup
    first = advance(team, draft(team), "assigned")
    second = advance(team, draft(team, patient_name="王建国", record="A-0002"), "assigned")
    # Two cases of the same expert and room: whoever books second must see the clash.
    results = _race(
        lambda: services.schedule(team.manager, first.pk, start=NINE, room_id=team.room.pk),
        lambda: services.schedule(
            other_manager, second.pk, start=NINE + dt.timedelta(minutes=10), room_id=team.room.pk
        ),
    )
    assert sum(isinstance(r, Consultation) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    booked = Consultation.objects.unscoped("test").filter(state="scheduled").count()
    assert booked == 1


def test_database_vendor_is_reported():
    assert connection.vendor in {"sqlite", "postgresql"}
