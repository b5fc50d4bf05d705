"""Scoped reads of patients. Each read, search and denied attempt is audited here, so a
caller cannot fetch a patient without leaving a trace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import NotFound
from telemed.patients.models import Consent, ConsentKind, Patient, PatientRegistration

if TYPE_CHECKING:
    from telemed.accounts.models import User


def visible_patients(user: User | None) -> QuerySet[Patient]:
    return Patient.objects.visible_to(user)


def get_patient(user: User, patient_id: int, *, audit_read: bool = True) -> Patient:
    """The patient, if in the user's scope; otherwise NotFound (and a denied audit event).

    Out of scope and nonexistent answer the same, so IDs cannot be probed.
    """
    patient = visible_patients(user).filter(pk=patient_id).first()
    if patient is None:
        audit.denied(
            user, Action.READ, object_type="patient", object_id=patient_id, reason="not in scope"
        )
        raise NotFound("Patient not found")
    if audit_read:
        audit.record(
            user, Action.READ, object_type="patient", object_id=patient.pk, patient_id=patient.pk
        )
    return patient


def search_patients(
    user: User, text: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[Patient], int]:
    """Search by name, pinyin, resident ID or record number within the user's scope."""
    patients = visible_patients(user)
    text = text.strip()
    if text:
        by_record = (
            PatientRegistration.objects.visible_to(user)
            .filter(record_number=text)
            .values("patient_id")
        )
        patients = patients.filter(
            Q(name__icontains=text)
            | Q(name_pinyin__icontains=text)
            | Q(resident_id=text.upper())
            | Q(pk__in=by_record)
        )
    total = patients.count()
    page = list(patients.order_by("-created_at", "-pk")[offset : offset + limit])
    audit.record(
        user, Action.SEARCH, object_type="patient", detail={"query": text[:100], "results": total}
    )
    return page, total


def registrations_of(user: User, patient: Patient) -> list[PatientRegistration]:
    """The patient's record numbers. A patient in scope shows every registration, so that the
    requester can see where else the person is known (the MPI's purpose)."""
    return list(patient.registrations.select_related("institution"))


def current_consents(patient: Patient) -> dict[str, bool | None]:
    latest: dict[str, bool | None] = {kind: None for kind in ConsentKind.values}
    for consent in patient.consents.all():
        if latest[consent.kind] is None:
            latest[consent.kind] = consent.granted
    return latest


def consent_history(patient: Patient) -> list[Consent]:
    return list(patient.consents.select_related("recorded_by", "institution"))
