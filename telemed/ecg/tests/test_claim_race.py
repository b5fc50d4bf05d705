"""Ten on-duty experts claim one ECG at the same instant, on real connections: exactly one
gets it, nine get 409 naming the winner."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from telemed.consultations.models import Consultation, ConsultationEvent
from telemed.ecg import services
from telemed.ecg.testing import build_world, send
from telemed.patients.models import PatientAccessGrant
from telemed.testing import build_network

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_ten_experts_claim_at_once_and_one_wins():
    world = build_world(build_network(), experts=10)
    case = send(world)
    results = _race(*[lambda e=e: services.claim(e, case.pk) for e in world.experts])
    wins = [r for r in results if isinstance(r, Consultation)]
    taken = [r for r in results if isinstance(r, services.Taken)]
    assert (len(wins), len(taken)) == (1, 9), results
    winner = wins[0].assigned_expert
    assert winner is not None
    name = services.display_name(winner)
    assert all(t.status == 409 and name in t.message for t in taken)
    assert all(t.details["taken_by"] == {"id": winner.pk, "name": name} for t in taken)
    saved = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert (saved.state, saved.assigned_expert_id) == ("assigned", winner.pk)
    claims = ConsultationEvent.objects.unscoped("test").filter(consultation=case, action="claim")
    assert claims.count() == 1
    grants = PatientAccessGrant.objects.unscoped("test").filter(
        source=f"consultation:{case.pk}", revoked_at__isnull=True
    )
    assert list(grants.values_list("user_id", flat=True)) == [winner.pk]
