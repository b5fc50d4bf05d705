"""Every write to the master patient index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.db.models import ForeignObjectRel, Q, Value

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core import clock
from telemed.core.errors import Conflict, PermissionDenied, ValidationFailed
from telemed.patients import identifiers
from telemed.patients.models import (
    Consent,
    ConsentKind,
    Patient,
    PatientAccessGrant,
    PatientRegistration,
    Sex,
)

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.directory.models import Institution

REGISTERING_ROLES = frozenset(
    {Role.REQUESTING_DOCTOR, Role.ADMINISTRATOR, Role.SYSTEM, Role.QUALITY_CONTROL}
)


@dataclass(frozen=True)
class NewPatient:
    name: str
    sex: str
    birth_date: dt.date
    record_number: str
    resident_id: str | None = None
    name_pinyin: str = ""
    phone: str = ""
    address: str = ""
    consent_telemedicine: bool | None = None
    consent_share_external: bool | None = None


@dataclass(frozen=True)
class Registered:
    patient: Patient
    linked_existing: bool


class PossibleDuplicate(Conflict):
    code = "possible_duplicate"


def _validate(data: NewPatient) -> NewPatient:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = "is required"
    if data.sex not in Sex.values:
        errors["sex"] = f"must be one of {', '.join(Sex.values)}"
    if data.birth_date > clock.now().date():
        errors["birth_date"] = "is in the future"
    if not data.record_number.strip():
        errors["record_number"] = "is required"
    resident_id = identifiers.normalise(data.resident_id) if data.resident_id else None
    if resident_id:
        problem = identifiers.problem_with(resident_id, data.birth_date)
        if problem:
            errors["resident_id"] = problem
    if errors:
        raise ValidationFailed("The patient record is not valid", details={"fields": errors})
    return NewPatient(
        **{
            **data.__dict__,
            "name": name,
            "resident_id": resident_id,
            "record_number": data.record_number.strip(),
        }
    )


def register_patient(actor: User, data: NewPatient, *, confirm_new: bool = False) -> Registered:
    """Register a patient at the actor's institution, finding the person in the MPI first.

    - Same resident ID already in the index: the existing person is linked (a registration
      at this institution is added), unless name or birth date disagree, which is refused.
    - Same name, sex and birth date among patients the actor can see: refused as a possible
      duplicate unless ``confirm_new``.
    - Same name, sex and birth date elsewhere: created, and flagged for the MPI steward;
      nothing about the other record is revealed to the actor.
    """
    institution = _registering_institution(actor)
    data = _validate(data)
    # The refusals are decided on one read, before anything is written, so the writes need
    # no savepoint of their own: they live and die with the caller's transaction, and a
    # caller that goes on after a refusal finds its transaction intact.
    found = _matches(actor, institution, data)
    if found.same_id is not None:
        if (found.same_id_name, found.same_id_birth_date) != (data.name, data.birth_date):
            raise _other_person()
        if found.number_holder not in (None, found.same_id):
            raise _number_taken()
        with transaction.atomic(savepoint=False):
            existing = (
                Patient.objects.unscoped("MPI matching by resident ID")
                .select_for_update()
                .get(pk=found.same_id)
            )
            if existing.name != data.name or existing.birth_date != data.birth_date:
                raise _other_person()  # changed since the read above
            if not existing.registrations.filter(institution=institution).exists():
                _add_registration(actor, existing, institution, data.record_number)
            _record_consents(actor, existing, institution, data)
            audit.record(
                actor,
                Action.UPDATE,
                object_type="patient",
                object_id=existing.pk,
                patient_id=existing.pk,
                detail={"linked_registration": institution.code},
            )
        return Registered(existing, linked_existing=True)
    if found.number_holder is not None:
        raise _number_taken()
    visible: list[int] = []
    if found.similar:
        # Only when there are look-alikes at all (rarely): which of them the actor sees.
        visible = list(
            Patient.objects.visible_to(actor)
            .filter(pk__in=found.similar)
            .values_list("pk", flat=True)
        )
    if visible and not confirm_new:
        raise PossibleDuplicate(
            "A patient with the same name, sex and date of birth exists; link to it or confirm a new record",
            details={"candidates": visible},
        )
    hidden_match = next((pk for pk in found.similar if pk not in visible), None)
    with transaction.atomic(savepoint=False):
        patient = Patient.objects.create(
            name=data.name,
            name_pinyin=data.name_pinyin,
            sex=data.sex,
            birth_date=data.birth_date,
            resident_id=data.resident_id,
            phone=data.phone,
            address=data.address,
            possible_duplicate_of_id=hidden_match,
        )
        # A new record has no registrations yet: nothing to look for before adding one.
        _add_registration(actor, patient, institution, data.record_number)
        _record_consents(actor, patient, institution, data)
        audit.record(
            actor, Action.CREATE, object_type="patient", object_id=patient.pk, patient_id=patient.pk
        )
    return Registered(patient, linked_existing=False)


@dataclass
class _Found:
    same_id: int | None = None
    same_id_name: str = ""
    same_id_birth_date: dt.date | None = None
    similar: list[int] = field(default_factory=list)
    number_holder: int | None = None


def _matches(actor: User, institution: Institution, data: NewPatient) -> _Found:
    """What the MPI holds about this registration, in one query: the record with this
    resident ID, the records with the same name, sex and birth date (newest first), and
    the record that already has this record number at the institution.

    A UNION of two indexed look-ups: the record number is a lookup of its own rather than
    an OR inside the patients' filter, which PostgreSQL can only answer by reading every
    patient."""
    columns = ("resident_id", "name", "birth_date", "sex", "created_at")
    condition = Q(name=data.name, birth_date=data.birth_date, sex=data.sex)
    if data.resident_id:
        condition |= Q(resident_id=data.resident_id)
    people = (
        Patient.objects.unscoped("MPI matching by resident ID and duplicate detection")
        .filter(condition)
        .annotate(holds_number=Value(False))
        .order_by()
        .values_list("pk", *columns, "holds_number")
    )
    holder = (
        PatientRegistration.objects.unscoped("is the record number free")
        .filter(institution=institution, record_number=data.record_number)
        .annotate(holds_number=Value(True))
        .order_by()
        .values_list("patient_id", *(f"patient__{column}" for column in columns), "holds_number")
    )
    rows = sorted(people.union(holder, all=True), key=lambda row: (row[5], row[0]), reverse=True)
    found = _Found()
    seen: set[int] = set()
    for pk, resident_id, name, birth_date, sex, _created_at, holds_number in rows:
        if holds_number:
            found.number_holder = pk
        if pk in seen:
            continue
        seen.add(pk)
        if data.resident_id and resident_id == data.resident_id:
            found.same_id, found.same_id_name, found.same_id_birth_date = pk, name, birth_date
        elif (name, birth_date, sex) == (data.name, data.birth_date, data.sex):
            found.similar.append(pk)
    return found


def _other_person() -> Conflict:
    return Conflict(
        "This resident ID number is registered to a different person",
        details={"fields": {"resident_id": "belongs to another person"}},
    )


def _number_taken() -> Conflict:
    return Conflict(
        "This record number is already used at your institution",
        details={"fields": {"record_number": "already used"}},
    )


def _registering_institution(actor: User) -> Institution:
    if actor.role not in REGISTERING_ROLES or actor.institution is None:
        audit.denied(
            actor, Action.CREATE, object_type="patient", reason="role cannot register patients"
        )
        raise PermissionDenied("Your role cannot register patients")
    return actor.institution


# PatientRegistration's table; the two unique constraints (record number, one registration
# per institution) are what DO NOTHING answers.
_REGISTER = (
    "INSERT INTO patients_patientregistration "
    "(patient_id, institution_id, record_number, registered_at, registered_by_id) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"
)


def _add_registration(
    actor: User, patient: Patient, institution: Institution, record_number: str
) -> None:
    """Register ``patient`` at ``institution`` (the caller knows it is not registered there).

    One statement, ``INSERT ... ON CONFLICT DO NOTHING``: a record number already used at
    the institution inserts nothing and is refused, without a savepoint around the insert
    to recover from the unique constraint's error."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REGISTER,
            [
                patient.pk,
                institution.pk,
                record_number,
                connection.ops.adapt_datetimefield_value(clock.now()),
                actor.pk,
            ],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        raise _number_taken()  # taken since it was looked up, by a concurrent registration


def _record_consents(
    actor: User, patient: Patient, institution: Institution, data: NewPatient
) -> None:
    for kind, granted in (
        (ConsentKind.TELEMEDICINE, data.consent_telemedicine),
        (ConsentKind.SHARE_EXTERNAL, data.consent_share_external),
    ):
        if granted is not None:
            Consent.objects.create(
                patient=patient,
                kind=kind,
                granted=granted,
                recorded_by=actor,
                institution=institution,
            )


UPDATABLE_FIELDS = ("name", "name_pinyin", "sex", "phone", "address")


def update_patient(actor: User, patient: Patient, changes: dict[str, str]) -> Patient:
    """Change demographics of a patient the actor can already see (fetch it scoped first)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "These fields cannot be changed", details={"fields": sorted(unknown)}
        )
    if "sex" in changes and changes["sex"] not in Sex.values:
        raise ValidationFailed(
            "The patient record is not valid", details={"fields": {"sex": "unknown value"}}
        )
    if "name" in changes and not str(changes["name"]).strip():
        raise ValidationFailed(
            "The patient record is not valid", details={"fields": {"name": "is required"}}
        )
    if actor.role not in REGISTERING_ROLES:
        audit.denied(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=patient.pk,
            reason="role cannot change patients",
        )
        raise PermissionDenied("Your role cannot change patient records")
    with transaction.atomic():
        locked = (
            Patient.objects.unscoped("row lock on a patient already read in scope")
            .select_for_update()
            .get(pk=patient.pk)
        )
        before = {field: getattr(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value.strip() if isinstance(value, str) else value)
        locked.updated_at = clock.now()
        locked.save(update_fields=[*changes, "updated_at"])
        audit.record(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=locked.pk,
            patient_id=locked.pk,
            detail={"changed": sorted(changes), "before": {k: str(v) for k, v in before.items()}},
        )
    return locked


def record_consent(
    actor: User, patient: Patient, kind: str, granted: bool, note: str = ""
) -> Consent:
    """Record a consent decision: by the registering staff, or by the patient for themself."""
    if kind not in ConsentKind.values:
        raise ValidationFailed("Unknown consent kind", details={"fields": {"kind": kind}})
    own_record = actor.role == Role.PATIENT and actor.patient_id == patient.pk
    if actor.role not in REGISTERING_ROLES and not own_record:
        audit.denied(
            actor,
            Action.UPDATE,
            object_type="consent",
            object_id=patient.pk,
            reason="role cannot record consent",
        )
        raise PermissionDenied("Your role cannot record consent")
    with transaction.atomic():
        consent = Consent.objects.create(
            patient=patient,
            kind=kind,
            granted=granted,
            recorded_by=actor,
            institution=actor.institution,
            note=note[:300],
        )
        audit.record(
            actor,
            Action.UPDATE,
            object_type="consent",
            object_id=consent.pk,
            patient_id=patient.pk,
            detail={"kind": kind, "granted": granted},
        )
    return consent


def grant_access(
    granted_by: User | None,
    patient: Patient,
    user: User,
    *,
    reason: str,
    source: str = "",
    expires_at: dt.datetime | None = None,
) -> PatientAccessGrant:
    """Let ``user`` read ``patient`` (called by workflows that assign an expert)."""
    # No savepoint: the grant lives and dies with the assignment that writes it.
    with transaction.atomic(savepoint=False):
        grant = PatientAccessGrant.objects.create(
            patient=patient,
            user=user,
            reason=reason,
            source=source,
            granted_by=granted_by,
            expires_at=expires_at,
        )
        audit.record(
            granted_by,
            Action.UPDATE,
            object_type="access_grant",
            object_id=grant.pk,
            patient_id=patient.pk,
            detail={"grantee": user.get_username(), "source": source},
            actor_name="system",
        )
    return grant


def revoke_access(revoked_by: User | None, *, source: str) -> int:
    """End every grant written for ``source`` (the assignment ended)."""
    with transaction.atomic(savepoint=False):
        grants = PatientAccessGrant.objects.unscoped("revoking by source").filter(
            source=source, revoked_at__isnull=True
        )
        count = grants.update(revoked_at=clock.now())
        if count:
            audit.record(
                revoked_by,
                Action.UPDATE,
                object_type="access_grant",
                object_id=source,
                detail={"revoked": count},
                actor_name="system",
            )
    return count


def correct_identity(
    actor: User,
    patient: Patient,
    *,
    birth_date: dt.date | None = None,
    resident_id: str | None = None,
) -> Patient:
    """Correct the date of birth or set the resident ID of a patient the actor can already
    see (a hospital system's update message, say). The resident ID must agree with the date
    of birth and belong to no one else; a patient's existing resident ID is not replaced
    (two numbers for one person is a merge for the MPI steward, not an update)."""
    if actor.role not in REGISTERING_ROLES:
        audit.denied(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=patient.pk,
            reason="role cannot change patients",
        )
        raise PermissionDenied("Your role cannot change patient records")
    new_id = identifiers.normalise(resident_id) if resident_id else None
    with transaction.atomic():
        locked = (
            Patient.objects.unscoped("row lock on a patient already read in scope")
            .select_for_update()
            .get(pk=patient.pk)
        )
        changes: dict[str, str] = {}
        if birth_date is not None and birth_date != locked.birth_date:
            if birth_date > clock.now().date():
                raise ValidationFailed(
                    "The patient record is not valid",
                    details={"fields": {"birth_date": "is in the future"}},
                )
            changes["birth_date"] = str(locked.birth_date)
            locked.birth_date = birth_date
        if new_id and new_id != locked.resident_id:
            if locked.resident_id:
                raise Conflict(
                    "This patient already has a different resident ID number",
                    details={"fields": {"resident_id": "differs from the one on record"}},
                )
            changes["resident_id"] = ""
            locked.resident_id = new_id
        if locked.resident_id:
            problem = identifiers.problem_with(locked.resident_id, locked.birth_date)
            if problem:
                raise ValidationFailed(
                    "The patient record is not valid",
                    details={"fields": {"resident_id": problem}},
                )
        if not changes:
            return locked
        locked.updated_at = clock.now()
        try:
            with transaction.atomic():
                locked.save(update_fields=[*changes, "updated_at"])
        except IntegrityError:
            raise Conflict(
                "This resident ID number is registered to a different person",
                details={"fields": {"resident_id": "belongs to another person"}},
            ) from None
        audit.record(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=locked.pk,
            patient_id=locked.pk,
            detail={"changed": sorted(changes), "before": changes},
        )
    return locked


MERGING_ROLES = frozenset({Role.ADMINISTRATOR, Role.SYSTEM})


def merge_patients(actor: User, survivor: Patient, merged: Patient) -> Patient:
    """Fold ``merged`` into ``survivor`` (two records of one person) and delete ``merged``.

    Both must be in the actor's scope (fetch them scoped first). Every row that points at the
    merged record, in any app, is moved to the survivor: registrations (where the survivor
    is already registered at the same institution, the merged record number is dropped and
    named in the audit event), consents, grants, consultations and whatever later apps add.
    The survivor takes the merged resident ID when it has none; two different resident IDs
    are refused, as is merging two records that both have a patient account.
    """
    if actor.role not in MERGING_ROLES:
        audit.denied(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=merged.pk,
            reason="role cannot merge patients",
        )
        raise PermissionDenied("Your role cannot merge patient records")
    if survivor.pk == merged.pk:
        raise ValidationFailed("A patient record cannot be merged into itself")
    with transaction.atomic():
        records = {
            p.pk: p
            for p in Patient.objects.unscoped("row locks on patients already read in scope")
            .select_for_update()
            .filter(pk__in=[survivor.pk, merged.pk])
        }
        keep, gone = records[survivor.pk], records[merged.pk]
        if keep.resident_id and gone.resident_id and keep.resident_id != gone.resident_id:
            raise Conflict(
                "The two records have different resident ID numbers: they are not one person",
                details={"fields": {"resident_id": "differs"}},
            )
        dropped = _move_registrations(keep, gone)
        moved: dict[str, int] = {}
        # Hidden reverse relations too (related_name="+"), so that no app's reference is
        # left pointing at the deleted record.
        for relation in Patient._meta._get_fields(forward=False, reverse=True, include_hidden=True):
            if not isinstance(relation, ForeignObjectRel) or relation.many_to_many:
                continue
            related = relation.related_model
            if related is PatientRegistration or not isinstance(related, type):
                continue
            field_name = relation.field.name
            manager = related._base_manager
            rows = manager.filter(**{field_name: gone})
            if related is Patient:
                rows = rows.exclude(pk=keep.pk)
            if (
                relation.one_to_one
                and rows.exists()
                and manager.filter(**{field_name: keep}).exists()
            ):
                raise Conflict(
                    "Both records are linked to an account; unlink one before merging",
                    details={"relation": related._meta.label},
                )
            count = rows.update(**{field_name: keep})
            if count:
                moved[related._meta.label] = count
        resident_id = gone.resident_id
        gone_pk = gone.pk
        gone.delete()
        if resident_id and not keep.resident_id:
            keep.resident_id = resident_id
        keep.updated_at = clock.now()
        keep.save(update_fields=["resident_id", "updated_at"])
        detail = {"merged": gone_pk, "moved": moved, "dropped_record_numbers": dropped}
        audit.record(
            actor,
            Action.UPDATE,
            object_type="patient",
            object_id=keep.pk,
            patient_id=keep.pk,
            detail={"merge": "survivor", **detail},
        )
        audit.record(
            actor,
            Action.DELETE,
            object_type="patient",
            object_id=gone_pk,
            patient_id=gone_pk,
            detail={"merge": "merged into", "survivor": keep.pk},
        )
    return keep


def _move_registrations(keep: Patient, gone: Patient) -> list[str]:
    """Move the merged record's registrations; returns those dropped as duplicates."""
    registrations = PatientRegistration.objects.unscoped("moving registrations in a merge")
    held = set(registrations.filter(patient=keep).values_list("institution_id", flat=True))
    dropped = []
    for registration in registrations.filter(patient=gone):
        if registration.institution_id in held:
            dropped.append(f"{registration.institution_id}:{registration.record_number}")
            registration.delete()
        else:
            registration.patient = keep
            registration.save(update_fields=["patient"])
    return dropped
