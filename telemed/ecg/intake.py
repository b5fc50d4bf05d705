"""What ECG intake by machine (DICOM C-STORE, DICOMweb STOW-RS, FHIR Observation) adds to
the upload form's intake: the patient is named by the sender's own identifiers, and the
consent must already be on record.

Consent, decided: a person uploading an ECG ticks "the patient consents" and that is
recorded with the request; an ECG cart or a hospital system has no such box. HL7 orders
are submitted with the consent confirmed only where the member system is configured to
state it (``MemberSystem.submit_orders``); a DICOM node has no such statement, and a FHIR
Observation carries none. So a machine-sent ECG is taken only for a patient whose consent
to telemedicine is on record in the master patient index (recorded when the clinic
registered the patient or at an earlier request); otherwise it is refused, naming the
patient, and nothing is written. A consent on record as refused is refused the same way.

The exception is a DICOM node configured as its site's registration desk
(``RemoteNode.registers_patients``: a clinic's cart where no HIS feeds the platform): its
objects register a patient ID not yet known from the object's name, birth date and sex,
with the site's statement that consent was taken, as the upload form's tick box does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from telemed.core.errors import ValidationFailed
from telemed.patients import queries as patient_queries
from telemed.patients.models import ConsentKind, PatientRegistration, Sex

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.patients.models import Patient


class NotOnRecord(ValidationFailed):
    """The sender names a patient the platform cannot take an ECG for (unknown here, other
    demographics, or no consent on record)."""

    code = "patient_not_on_record"


class NotRegistered(NotOnRecord):
    """The sender's patient ID names nobody registered at its institution."""


class NotAnEcg(ValidationFailed):
    """A resource offered as an ECG whose code says it is something else."""


#: Codes that say an Observation is an ECG: LOINC's EKG study, and the MDC electrical
#: potential code the FHIR ECG example uses for the whole tracing.
ECG_OBSERVATION_CODES = frozenset(
    {("http://loinc.org", "11524-6"), ("urn:oid:2.16.840.1.113883.6.24", "131328")}
)


def require_ecg_code(codings: set[tuple[str, str]]) -> None:
    """Refuse an Observation whose ``(system, code)`` pairs name no ECG: a blood pressure
    or a lab result sent here must not become an ECG case."""
    if not codings & ECG_OBSERVATION_CODES:
        raise NotAnEcg(
            gettext("Only ECG Observations (LOINC 11524-6, EKG study) can be sent here"),
            details={"fields": {"code": sorted(f"{s}|{c}" for s, c in codings)[:5]}},
        )


def require_consent_on_record(patient: Patient, *, named: str) -> None:
    if patient_queries.current_consents(patient).get(ConsentKind.TELEMEDICINE) is not True:
        raise NotOnRecord(
            gettext("No consent to telemedicine on record for patient %(id)s") % {"id": named[:64]},
            details={"fields": {"consent": gettext("must be recorded before ECGs are sent")}},
        )


# DICOM Patient's Sex (PS3.3 C.7.1.1): M, F, O; anything else is "not stated".
_DICOM_SEX = {"M": Sex.MALE, "F": Sex.FEMALE, "O": Sex.OTHER}


def dicom_sex(value: str) -> str | None:
    """The index's sex for a DICOM Patient's Sex; None when not stated."""
    return _DICOM_SEX.get(value.strip().upper())


def patient_by_record_number(
    actor: User,
    record_number: str,
    *,
    birth_date: dt.date | None = None,
    sex: str = "",
) -> Patient:
    """The patient registered at the actor's institution under ``record_number`` (DICOM
    PatientID is the sending site's own record number, as in HL7 PID-3 MR), checked
    against the birth date and sex the object states: a cart that mixed two patients up
    must not file one's tracing in the other's record."""
    number = record_number.strip()
    if actor.institution_id is None:
        raise NotOnRecord(gettext("The sender belongs to no institution"))
    if not number:
        raise NotOnRecord(
            gettext("The object names no patient (PatientID is empty)"),
            details={"fields": {"PatientID": gettext("is required")}},
        )
    registration = (
        PatientRegistration.objects.visible_to(actor)
        .select_related("patient")
        .filter(institution_id=actor.institution_id, record_number=number)
        .first()
    )
    if registration is None:
        raise NotRegistered(
            gettext("Patient ID %(id)s is not registered at this institution")
            % {"id": number[:64]},
            details={"fields": {"PatientID": number[:64]}},
        )
    patient = registration.patient
    stated_sex = dicom_sex(sex)
    known_sex = patient.sex if patient.sex in _DICOM_SEX.values() else None
    if birth_date is not None and birth_date != patient.birth_date:
        raise NotOnRecord(
            gettext("The birth date does not match patient %(id)s's record") % {"id": number[:64]},
            details={"fields": {"PatientBirthDate": birth_date.isoformat()}},
        )
    if stated_sex is not None and known_sex is not None and stated_sex != known_sex:
        raise NotOnRecord(
            gettext("The sex does not match patient %(id)s's record") % {"id": number[:64]},
            details={"fields": {"PatientSex": sex[:16]}},
        )
    return patient
