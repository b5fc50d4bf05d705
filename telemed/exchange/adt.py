"""ADT messages into the master patient index, as the sending institution's system user.

Identifiers in PID-3 (and MRG-1), by identifier type (CX-5):

- ``MR`` (or the first repetition of no other type): the local record number (病案号), the
  patient's registration at the sending institution;
- ``NNCHN`` or ``NI`` (national person identifier): the resident ID number (居民身份证号).

A01/A04/A28 (admit, register, add person) and A08/A31 (update) all create the patient when
the record number is new at the institution and update it otherwise, since a hospital's
first message about a person is not always the "add". Empty fields leave the record as it
is; ``""`` clears a phone, an address or the pinyin. A40 merges the MRG-1 record into the
PID-3 one. Everything goes through ``telemed.patients.services``, so the MPI rules (a
look-alike needs confirmation, one resident ID per person) answer AE like they answer 409.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from telemed.core.errors import NotFound, ValidationFailed
from telemed.exchange import hl7v2
from telemed.exchange.inbound import Processed, handles
from telemed.exchange.models import MemberSystem
from telemed.patients import services as patient_services
from telemed.patients.models import Patient, PatientRegistration, Sex

RESIDENT_ID_TYPES = frozenset({"NNCHN", "NI"})
SEX = {"M": Sex.MALE, "F": Sex.FEMALE, "O": Sex.OTHER, "A": Sex.OTHER, "U": Sex.UNKNOWN}
CLEAR = '""'


@dataclass(frozen=True)
class Person:
    """PID read into the MPI's terms; '' means "not sent", None for CLEAR is ''."""

    record_number: str
    resident_id: str
    name: str
    name_pinyin: str
    sex: str
    birth_date: dt.date | None
    phone: str
    address: str


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _xpn(message: hl7v2.Message, repetition: int) -> str:
    family = hl7v2.value(message, f"PID.F5.R{repetition}.C1")
    given = hl7v2.value(message, f"PID.F5.R{repetition}.C2")
    if _has_cjk(family + given):
        return f"{family}{given}"
    return f"{given} {family}".strip()


def identifiers(message: hl7v2.Message, segment: str, field: int) -> tuple[str, str]:
    """(record number, resident ID) from a CX list."""
    record_number = resident_id = first_other = ""
    for r in range(1, hl7v2.repetitions(message, segment, field) + 1):
        number = hl7v2.value(message, f"{segment}.F{field}.R{r}.C1")
        kind = hl7v2.value(message, f"{segment}.F{field}.R{r}.C5").upper()
        if not number:
            continue
        if kind in RESIDENT_ID_TYPES:
            resident_id = resident_id or number
        elif kind == "MR":
            record_number = record_number or number
        else:
            first_other = first_other or number
    return record_number or first_other, resident_id


def _date(text: str, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise ValidationFailed(
            _("The patient record is not valid"),
            details={"fields": {field: _("is not a date (YYYYMMDD)")}},
        ) from None


def read_person(message: hl7v2.Message) -> Person:
    if not hl7v2.has_segment(message, "PID"):
        raise ValidationFailed(
            _("The message has no PID segment"), details={"fields": {"PID": _("is required")}}
        )
    record_number, resident_id = identifiers(message, "PID", 3)
    if not record_number:
        raise ValidationFailed(
            _("The patient record is not valid"),
            details={"fields": {"PID-3": _("a record number (MR) is required")}},
        )
    name = _xpn(message, 1)
    pinyin = ""
    for r in range(2, hl7v2.repetitions(message, "PID", 5) + 1):
        other = _xpn(message, r)
        if other and not _has_cjk(other):
            pinyin = other
            break
    sex_code = hl7v2.value(message, "PID.F8").upper()
    if sex_code and sex_code not in SEX:
        raise ValidationFailed(
            _("The patient record is not valid"),
            details={"fields": {"PID-8": _("unknown sex code")}},
        )
    phone = hl7v2.value(message, "PID.F13.R1.C1") or hl7v2.value(message, "PID.F13.R1.C12")
    address = _address(message)
    too_long = {
        field: _("is longer than %(limit)d characters") % {"limit": limit}
        for field, text, limit in (
            ("PID-3", record_number, 40),
            ("PID-3 (resident ID)", resident_id, 18),
            ("PID-5", name, 100),
            ("PID-5 (pinyin)", pinyin, 120),
            ("PID-11", address, 300),
            ("PID-13", phone, 30),
        )
        if len(text) > limit
    }
    if too_long:
        raise ValidationFailed(_("The patient record is not valid"), details={"fields": too_long})
    return Person(
        record_number=record_number,
        resident_id=resident_id,
        name=name,
        name_pinyin=pinyin,
        sex=SEX.get(sex_code, ""),
        birth_date=_date(hl7v2.value(message, "PID.F7.R1.C1"), "PID-7"),
        phone=phone,
        address=address,
    )


def _address(message: hl7v2.Message) -> str:
    if hl7v2.value(message, "PID.F11") == CLEAR:
        return CLEAR
    street, other, city, province, postcode = (
        hl7v2.value(message, f"PID.F11.R1.C{c}") for c in range(1, 6)
    )
    if _has_cjk(street + other + city + province):
        # Chinese addresses run from the largest unit down.
        return "".join([province, city, street, other]).strip()
    return ", ".join(part for part in (street, other, city, province, postcode) if part)


def _registration(system: MemberSystem, record_number: str) -> PatientRegistration | None:
    return (
        PatientRegistration.objects.visible_to(system.service_user)
        .select_related("patient")
        .filter(institution=system.institution, record_number=record_number)
        .first()
    )


@handles("ADT^A01", "ADT^A04", "ADT^A08", "ADT^A28", "ADT^A31")
def register_or_update(
    system: MemberSystem, header: hl7v2.Header, message: hl7v2.Message
) -> Processed:
    person = read_person(message)
    actor = system.service_user
    registration = _registration(system, person.record_number)
    if registration is None:
        if not person.name or person.birth_date is None:
            raise ValidationFailed(
                _("The patient record is not valid"),
                details={
                    "fields": {"PID-5/PID-7": _("a new patient needs a name and a birth date")}
                },
            )
        registered = patient_services.register_patient(
            actor,
            patient_services.NewPatient(
                name=person.name,
                sex=person.sex or Sex.UNKNOWN,
                birth_date=person.birth_date,
                record_number=person.record_number,
                resident_id=person.resident_id or None,
                name_pinyin=person.name_pinyin if person.name_pinyin != CLEAR else "",
                phone=person.phone if person.phone != CLEAR else "",
                address=person.address if person.address != CLEAR else "",
            ),
        )
        return Processed(patient_id=registered.patient.pk)
    patient = registration.patient
    _update(actor, patient, person)
    return Processed(patient_id=patient.pk)


def _update(actor: object, patient: Patient, person: Person) -> None:
    from telemed.accounts.models import User

    assert isinstance(actor, User)
    # Most updates repeat the identity the index already holds: nothing to lock or check.
    resident_id = person.resident_id.strip().upper()
    if (person.birth_date and person.birth_date != patient.birth_date) or (
        resident_id and resident_id != patient.resident_id
    ):
        patient = patient_services.correct_identity(
            actor, patient, birth_date=person.birth_date, resident_id=person.resident_id or None
        )
    changes: dict[str, str] = {}
    for field in ("name", "name_pinyin", "sex", "phone", "address"):
        sent = getattr(person, field)
        if not sent:
            continue
        wanted = "" if sent == CLEAR else sent
        if field in ("name", "sex") and not wanted:
            continue
        if getattr(patient, field) != wanted:
            changes[field] = wanted
    if changes:
        patient_services.update_patient(actor, patient, changes)


@handles("ADT^A40")
def merge(system: MemberSystem, header: hl7v2.Header, message: hl7v2.Message) -> Processed:
    person = read_person(message)
    if not hl7v2.has_segment(message, "MRG"):
        raise ValidationFailed(
            _("The message has no MRG segment"), details={"fields": {"MRG": _("is required")}}
        )
    merged_number, _resident = identifiers(message, "MRG", 1)
    survivor = _registration(system, person.record_number)
    merged = _registration(system, merged_number) if merged_number else None
    if survivor is None or merged is None:
        missing = person.record_number if survivor is None else merged_number or "MRG-1"
        raise NotFound(
            _("No patient with record number %(number)s at this institution") % {"number": missing}
        )
    if survivor.patient_id == merged.patient_id:
        return Processed(patient_id=survivor.patient_id)
    kept = patient_services.merge_patients(system.service_user, survivor.patient, merged.patient)
    return Processed(patient_id=kept.pk)
