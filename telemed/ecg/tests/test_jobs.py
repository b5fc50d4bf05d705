"""The pools' timeouts on a frozen clock: unclaimed ECGs escalate, unreported claims return."""

from __future__ import annotations

import datetime as dt

import pytest

from telemed.consultations.models import Consultation, ConsultationEvent
from telemed.core import clock
from telemed.core.errors import NotFound
from telemed.ecg import jobs, reports, services
from telemed.ecg.models import EcgRecording
from telemed.ecg.testing import send
from telemed.patients.models import PatientAccessGrant


@pytest.fixture
def start():
    return clock.now().replace(microsecond=0)


def at(start, minutes):
    return clock.frozen_at(start + dt.timedelta(minutes=minutes))


def test_an_unclaimed_ecg_escalates_once(world, settings, start):
    settings.ECG_ESCALATE_MINUTES = 10
    with at(start, 0):
        case = send(world)
    with at(start, 9):
        assert jobs.escalate_unclaimed() == 0
        with pytest.raises(NotFound):
            services.claim(world.escalation_expert, case.pk)
    with at(start, 11):
        assert jobs.escalate_unclaimed() == 1
        assert jobs.escalate_unclaimed() == 0  # once
        recording = EcgRecording.objects.unscoped("test").get(consultation=case)
        assert recording.escalated_to_id == world.escalation_pool.pk
        assert (
            ConsultationEvent.objects.unscoped("test")
            .filter(consultation=case, action="escalate", actor=None)
            .exists()
        )
        # The escalation pool's on-duty expert may take it now; the first pool still may too.
        assert Consultation.objects.visible_to(world.experts[0]).filter(pk=case.pk).exists()
        services.claim(world.escalation_expert, case.pk)


def test_a_claimed_ecg_is_not_escalated(world, settings, start):
    settings.ECG_ESCALATE_MINUTES = 10
    with at(start, 0):
        case = send(world)
        services.claim(world.experts[0], case.pk)
    with at(start, 30):
        assert jobs.escalate_unclaimed() == 0


def test_an_unreported_claim_returns_to_the_pool(world, settings, start):
    settings.ECG_RETURN_MINUTES = 30
    claimer = world.experts[0]
    with at(start, 0):
        case = send(world)
        services.claim(claimer, case.pk)
    with at(start, 29):
        assert jobs.return_unreported() == 0
    with at(start, 31):
        assert jobs.return_unreported() == 1
        saved = Consultation.objects.unscoped("test").get(pk=case.pk)
        assert (saved.state, saved.assigned_expert_id) == ("accepted", None)
        release = ConsultationEvent.objects.unscoped("test").get(
            consultation=case, action="release"
        )
        assert release.actor is None and "30" in release.reason
        assert (
            not PatientAccessGrant.objects.unscoped("test")
            .filter(source=f"consultation:{case.pk}", revoked_at__isnull=True)
            .exists()
        )
        services.claim(world.experts[1], case.pk)


def test_a_reported_claim_stays(world, settings, start):
    settings.ECG_RETURN_MINUTES = 30
    with at(start, 0):
        case = send(world)
        services.claim(world.experts[0], case.pk)
        reports.sign_report(world.experts[0], case.pk, reports.ReportDraft(phrases=("normal_ecg",)))
    with at(start, 60):
        assert jobs.return_unreported() == 0
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "concluded"
