"""Scoped reads of ECG cases: the pool worklist, the requester's list, one case with its
recording, the samples of a window. Reads of a case are audited here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import queries as consultation_queries
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind, State
from telemed.core.errors import NotFound, ValidationFailed
from telemed.ecg import samples as sample_store
from telemed.ecg.models import EcgRecording

if TYPE_CHECKING:
    from telemed.accounts.models import User

RELATED = ("ecg_recording", "patient", "requesting_institution", "assigned_expert__practitioner")


def ecg_cases(user: User) -> QuerySet[Consultation]:
    return Consultation.objects.visible_to(user).filter(kind=Kind.ECG).select_related(*RELATED)


def worklist(user: User) -> QuerySet[Consultation]:
    """An expert's: the waiting ECGs of their duty pools and their own claims, critical
    first, then oldest. A requesting site's: its ECGs, newest first."""
    cases = ecg_cases(user)
    if user.role == Role.EXPERT:
        return cases.filter(
            Q(state=State.ACCEPTED) | Q(state=State.ASSIGNED, assigned_expert=user)
        ).order_by("-ecg_recording__critical", "submitted_at", "pk")
    return cases.exclude(state=State.DRAFT).order_by("-created_at")[:200]


def get_case(user: User, consultation_id: int) -> Consultation:
    """The ECG case (with its recording) if in the user's scope; NotFound (audited)."""
    case = ecg_cases(user).filter(pk=consultation_id).first()
    if case is None:
        # The consultation module's access() writes the denied event and raises.
        consultation_queries.get(user, consultation_id)
        raise NotFound(gettext("ECG not found"))  # a non-ECG case the user may see
    audit.record(
        user,
        Action.READ,
        object_type="consultation",
        object_id=case.pk,
        patient_id=case.patient_id,
        detail={"kind": "ecg"},
    )
    return case


def recording(case: Consultation) -> EcgRecording:
    rec = getattr(case, "ecg_recording", None)
    if rec is None:
        raise NotFound(gettext("ECG not found"))
    return rec


def window(
    user: User, consultation_id: int, start_s: float, seconds: float
) -> tuple[EcgRecording, int, np.ndarray]:
    """(recording, first sample, samples) of a window of the tracing, at most
    ``MAX_WINDOW_S`` long; the read is audited like opening the case."""
    if not (0 <= start_s < 86400) or not (0 < seconds <= sample_store.MAX_WINDOW_S):
        raise ValidationFailed(
            gettext("The window is not valid"),
            details={
                "fields": {
                    "seconds": gettext("between 0 and %(max)d") % {"max": sample_store.MAX_WINDOW_S}
                }
            },
        )
    rec = recording(get_case(user, consultation_id))
    first = int(start_s * rec.sampling_rate)
    count = int(np.ceil(seconds * rec.sampling_rate))
    data = sample_store.window(rec.samples_id, len(rec.leads), rec.n_samples, first, count)
    return rec, min(first, rec.n_samples), data
