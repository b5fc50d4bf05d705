"""A DICOM ECG waveform object (12-lead, General or Ambulatory ECG), received by C-STORE or
by STOW-RS, into an ECG case in the sending institution's pool.

The file is first checked as DICOM the way every received object is
(``telemed.dicom.files.inspect``: preamble, UIDs, required attributes, truncation) and
against what the C-STORE announced; the patient is the one registered at the sending
institution under the object's PatientID (``intake``); then ``services.submit_ecg`` reads,
measures, stores and submits in one transaction. A refusal raises ``Refused`` with the
DIMSE status, audited, before anything is written; a return means the case is committed.

Re-sending, decided as imaging decides it: the same SOP Instance UID from the same
institution with the same bytes is a success that changes nothing (a cart that lost the
answer sends again); with other bytes it is refused (0x0111) and the first stays, since a
changed object gets a new SOP Instance UID.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import DomainError, PermissionDenied
from telemed.dicom.files import (
    CANNOT_UNDERSTAND,
    DOES_NOT_MATCH_SOP_CLASS,
    DUPLICATE_SOP_INSTANCE,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    Inspected,
    inspect,
)
from telemed.dicom.registry import Refused
from telemed.directory.models import Institution
from telemed.ecg import intake, services
from telemed.ecg.models import EcgSourceFile
from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import max_bytes
from telemed.patients import services as patient_services
from telemed.patients.models import Sex

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation
    from telemed.patients.models import Patient


@dataclass(frozen=True)
class Sent:
    """Who sent the object: the account the intake acts as, the channel (``dicom`` for
    C-STORE, ``dicomweb`` for STOW-RS) and the sender's own name for the record."""

    actor: User
    channel: str
    sender: str
    # The node registers patients it names that are not yet known (RemoteNode's flag).
    registers_patients: bool = False


def receive(
    path: Path,
    sent: Sent,
    *,
    sop_class_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Consultation | None:
    """Take the Part 10 file at ``path`` as an ECG case; None when it is a resend of an
    object already taken. ``sop_*`` are what a C-STORE announced. Raises ``Refused``."""
    try:
        return _receive(path, sent, sop_class_uid, sop_instance_uid)
    except Refused as refusal:
        audit.denied(
            sent.actor,
            Action.CREATE,
            object_type="ecg",
            object_id=sop_instance_uid or "",
            reason=refusal.reason[:200],
            detail={"channel": sent.channel, "sender": sent.sender[:100], "status": refusal.status},
        )
        raise


def _receive(
    path: Path,
    sent: Sent,
    sop_class_uid: str | None,
    sop_instance_uid: str | None,
) -> Consultation | None:
    inspected = inspect(path)
    dataset_class, uid = inspected.text("SOPClassUID"), inspected.text("SOPInstanceUID")
    if sop_class_uid is not None and dataset_class != sop_class_uid:
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, gettext("The data set's SOP class is not the one announced.")
        )
    if sop_instance_uid is not None and uid != sop_instance_uid:
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS,
            gettext("The data set's SOP instance is not the one announced."),
        )
    if inspected.size > max_bytes():
        raise Refused(
            OUT_OF_RESOURCES,
            gettext("The ECG object is larger than %(limit)d bytes.") % {"limit": max_bytes()},
        )
    data = path.read_bytes()
    name = f"{uid}.dcm"
    with transaction.atomic():
        # One sender's objects are taken one at a time, so two copies of one instance sent
        # at the same moment make one case: the second finds the first in the resend check.
        # FOR NO KEY UPDATE, so rows that merely reference the institution are not held up.
        if sent.actor.institution_id is not None:
            locked = Institution.objects.select_for_update(no_key=True)
            list(locked.filter(pk=sent.actor.institution_id).values_list("pk", flat=True))
        if _already_taken(sent.actor, name, data):
            return None
        return _submit(inspected, sent, name, data)


def _submit(inspected: Inspected, sent: Sent, name: str, data: bytes) -> Consultation:
    try:
        patient = _patient(inspected, sent)
        intake.require_consent_on_record(patient, named=inspected.text("PatientID"))
        return services.submit_ecg(
            sent.actor,
            patient,
            {name: data},
            main=name,
            intake=services.Intake(channel=sent.channel, sender=sent.sender),
        )
    except PermissionDenied as error:
        # The service's own audit of the denial rolls back with the rest; receive() writes
        # the refusal once, outside the transaction.
        raise Refused(PROCESSING_FAILURE, error.message) from None
    except DomainError as error:
        raise _refusal(error) from None


def _patient(inspected: Inspected, sent: Sent) -> Patient:
    number = inspected.text("PatientID")
    birth_date = _dicom_date(inspected.text("PatientBirthDate"))
    try:
        return intake.patient_by_record_number(
            sent.actor, number, birth_date=birth_date, sex=inspected.text("PatientSex")
        )
    except intake.NotRegistered:
        if not sent.registers_patients:
            raise
    person = _person_name(inspected.text("PatientName"))
    if not person or birth_date is None:
        raise intake.NotRegistered(
            gettext("A new patient needs a name and a birth date (PatientName, PatientBirthDate)"),
            details={"fields": {"PatientID": number[:64]}},
        )
    registered = patient_services.register_patient(
        sent.actor,
        patient_services.NewPatient(
            name=person,
            sex=intake.dicom_sex(inspected.text("PatientSex")) or Sex.UNKNOWN,
            birth_date=birth_date,
            record_number=number.strip(),
            consent_telemedicine=True,
        ),
    )
    return registered.patient


def _person_name(value: str) -> str:
    """A DICOM person name as the index keeps names: the ideographic group when the object
    has one (``Zhang^San=张^三``), family name then given name, written together for
    Chinese and with a space otherwise."""
    groups = value.split("=")
    chosen = next((g for g in (groups[1:2] or []) if g.strip("^ ")), groups[0])
    parts = [part.strip() for part in chosen.split("^")[:2] if part.strip()]
    if not parts:
        return ""
    joined = "".join(parts) if any("\u4e00" <= ch <= "\u9fff" for ch in chosen) else " ".join(parts)
    return joined[:100]


def _already_taken(actor: User, name: str, data: bytes) -> bool:
    """True for a resend of the same bytes; Refused for the same instance with others."""
    sent_before = set(
        EcgSourceFile.objects.unscoped("resend check within the sender's own institution")
        .filter(
            name=name,
            recording__source_format="dicom",
            recording__consultation__requesting_institution_id=actor.institution_id,
        )
        .values_list("blob_id", flat=True)
    )
    if not sent_before:
        return False
    if hashlib.sha256(data).hexdigest() in sent_before:
        return True
    raise Refused(
        DUPLICATE_SOP_INSTANCE,
        gettext("This SOP instance was received before with other content."),
    )


def _refusal(error: DomainError) -> Refused:
    if isinstance(error, EcgFormatError):
        status = OUT_OF_RESOURCES if error.status == 413 else CANNOT_UNDERSTAND
    else:
        # Who the patient is, the consent, the pool: nothing wrong with the object itself.
        status = PROCESSING_FAILURE
    return Refused(status, error.message)


def _dicom_date(text: str) -> dt.date | None:
    # A malformed birth date cannot be compared; the record number still names the patient.
    try:
        return dt.datetime.strptime(text.strip()[:8], "%Y%m%d").date() if text.strip() else None
    except ValueError:
        return None
