"""Who sees an ECG case: the on-duty experts of its pool while it waits, then the claimer
alone (with the requesting site and the region's managers as for any case)."""

from __future__ import annotations

import datetime as dt

import pytest

from telemed.accounts.models import Role
from telemed.consultations.models import Consultation
from telemed.core import clock
from telemed.core.errors import InvalidTransition, NotFound, PermissionDenied
from telemed.ecg import services
from telemed.ecg.models import EcgRecording
from telemed.ecg.testing import send
from telemed.testing import make_user


def visible(user, case) -> bool:
    return Consultation.objects.visible_to(user).filter(pk=case.pk).exists()


def test_a_waiting_ecg_is_seen_by_the_on_duty_pool_only(world):
    case = send(world)
    assert case.state == "accepted"
    assert all(visible(e, case) for e in world.experts)
    assert visible(world.requester, case)
    assert not visible(world.off_duty, case)
    assert not visible(world.other_pool_expert, case)
    assert not visible(world.escalation_expert, case)  # not escalated yet
    assert EcgRecording.objects.visible_to(world.experts[0]).filter(consultation=case).exists()
    assert not EcgRecording.objects.visible_to(world.off_duty).filter(consultation=case).exists()


def test_after_the_claim_only_the_claimer_sees_it(world):
    case = send(world)
    first, second = world.experts[:2]
    services.claim(first, case.pk)
    assert visible(first, case)
    assert not visible(second, case)
    assert visible(world.requester, case)
    manager = make_user("prov_mgr", Role.CONSULTATION_MANAGER, world.network.province)
    assert visible(manager, case)


def test_a_shift_that_ended_ends_the_view(world):
    case = send(world)
    with clock.frozen_at(clock.now() + dt.timedelta(days=1)):
        assert not visible(world.experts[0], case)
        with pytest.raises(NotFound):
            services.claim(world.experts[0], case.pk)


@pytest.mark.parametrize("who", ["off_duty", "other_pool_expert", "escalation_expert"])
def test_outsiders_cannot_claim_and_learn_nothing(world, who):
    case = send(world)
    with pytest.raises(NotFound):
        services.claim(getattr(world, who), case.pk)
    services.claim(world.experts[0], case.pk)
    # Even after the claim, an outsider hears 404, not who took it.
    with pytest.raises(NotFound):
        services.claim(getattr(world, who), case.pk)


def test_a_requester_cannot_claim(world):
    case = send(world)
    with pytest.raises(PermissionDenied):
        services.claim(world.requester, case.pk)


def test_the_winner_claiming_again_gets_409(world):
    case = send(world)
    services.claim(world.experts[0], case.pk)
    with pytest.raises(InvalidTransition):
        services.claim(world.experts[0], case.pk)


def test_release_puts_it_back_in_the_pool(world):
    case = send(world)
    first, second = world.experts[:2]
    services.claim(first, case.pk)
    with pytest.raises(NotFound):
        services.release(second, case.pk, "not mine")
    services.release(first, case.pk, "called to the ward")
    assert visible(second, case) and visible(first, case)
    saved = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert (saved.state, saved.assigned_expert_id) == ("accepted", None)
    services.claim(second, case.pk)
    assert not visible(first, case)
