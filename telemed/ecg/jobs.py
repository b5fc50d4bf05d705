"""The pools' two timeouts, run by ``telemed serve`` as periodic jobs:

- an ECG waiting unclaimed for ``ECG_ESCALATE_MINUTES`` escalates to its pool's escalation
  pool (its experts on duty see it and are pushed it; the first pool still may claim it);
- a claimed ECG not reported within ``ECG_RETURN_MINUTES`` of the claim goes back to its
  pool (the engine's ``release`` step, taken by the platform; the claimer's access ends).

Each case is handled in its own transaction under its row lock, so a claim or a report
racing the sweep either wins or is seen.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from telemed.audit.models import Action
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind, State
from telemed.consultations.workflow import record_on_case
from telemed.core import clock
from telemed.core import jobs as periodic
from telemed.core.errors import DomainError
from telemed.ecg import pools, services
from telemed.ecg.models import EcgRecording

logger = logging.getLogger(__name__)
BATCH = 500


def upload_limit() -> int:
    # The record's files plus the form fields and multipart boundaries.
    return int(settings.ECG_MAX_BYTES) + 64 * 1024


def escalate_unclaimed() -> int:
    """Escalate every ECG waiting longer than the setting; returns how many."""
    cutoff = clock.now() - dt.timedelta(minutes=settings.ECG_ESCALATE_MINUTES)
    due = list(
        EcgRecording.objects.unscoped("the escalation sweep")
        .filter(
            escalated_to__isnull=True,
            consultation__state=State.ACCEPTED,
            consultation__submitted_at__lt=cutoff,
            pool__ecg_escalation__isnull=False,
        )
        .order_by("consultation__submitted_at")
        .values_list("consultation_id", flat=True)[:BATCH]
    )
    done = 0
    for consultation_id in due:
        with transaction.atomic():
            case = (
                Consultation.objects.unscoped("the escalation sweep")
                .select_for_update()
                .filter(pk=consultation_id, kind=Kind.ECG, state=State.ACCEPTED)
                .first()
            )
            if case is None:
                continue  # claimed (or withdrawn) meanwhile
            recording = EcgRecording.objects.unscoped("the escalation sweep").get(consultation=case)
            target = pools.escalation_pool(recording.pool_id)
            if recording.escalated_to_id or target is None:
                continue
            recording.escalated_to = target
            recording.escalated_at = clock.now()
            recording.save(update_fields=["escalated_to", "escalated_at"])
            record_on_case(
                None,
                case,
                "escalate",
                audit_action=Action.UPDATE,
                object_type="consultation",
                object_id=case.pk,
                detail={"pool": recording.pool_id, "escalated_to": target.pk},
                audit_detail={"escalated_to": target.pk},
            )
            done += 1
    return done


def return_unreported() -> int:
    """Give every claim older than the setting without a report back to its pool."""
    minutes = settings.ECG_RETURN_MINUTES
    cutoff = clock.now() - dt.timedelta(minutes=minutes)
    due = list(
        EcgRecording.objects.unscoped("the return sweep")
        .filter(consultation__state=State.ASSIGNED, claimed_at__lt=cutoff)
        .order_by("claimed_at")
        .values_list("consultation_id", flat=True)[:BATCH]
    )
    done = 0
    for consultation_id in due:
        try:
            services.release(
                None,
                consultation_id,
                gettext("Not reported within %(minutes)d minutes of the claim")
                % {"minutes": minutes},
            )
        except DomainError as error:  # reported or released meanwhile
            logger.info("ECG %s not returned: %s", consultation_id, error.message)
            continue
        done += 1
    return done


def connect() -> None:
    periodic.register("ecg-escalation", 30, escalate_unclaimed)
    periodic.register("ecg-return", 60, return_unreported)
