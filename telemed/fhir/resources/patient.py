"""Patient <-> the master patient index (``telemed.patients``).

=================  ===============================================================
FHIR               ours
=================  ===============================================================
id                 the MPI id (a UUID: ids cannot be guessed or counted)
identifier         the MPI id; the resident ID (``urn:telemed:resident-id``, type
                   NI); one record number per registration (type MR, system
                   ``urn:telemed:mrn:<institution code>``, assigner the institution)
name               the name (``official``), the pinyin (``usual``), as ``text``
gender/birthDate   sex, date of birth
telecom/address    the phone, the address (as text)
=================  ===============================================================

An update changes the demographics ``patients.services.update_patient`` allows (name,
pinyin, sex, phone, address); a changed birth date or resident ID is refused (422), and
record numbers are added by registering, not by an update.

A create registers the patient at the client's institution through
``patients.services.register_patient``, so the MPI's matching rules apply: the same
resident ID links the existing person, a look-alike in scope is refused as a duplicate.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from fhir.resources.R4B.patient import Patient as FhirPatient

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import NotFound
from telemed.fhir.errors import FhirError
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.search import Query, alternatives, date_filter, string_filter, token
from telemed.fhir.systems import (
    INSTITUTION_ID,
    MRN_PREFIX,
    PATIENT_ID,
    RESIDENT_ID,
    V2_0203,
    mrn_system,
)
from telemed.patients import services as patient_services
from telemed.patients.models import Patient, PatientRegistration
from telemed.patients.queries import visible_patients

if TYPE_CHECKING:
    from telemed.accounts.models import User

GENDERS = ("male", "female", "other", "unknown")


def _is_latin(text: str) -> bool:
    return all(ord(ch) < 0x2E80 for ch in text)


class PatientType(ResourceType):
    name = "Patient"
    model = FhirPatient
    interactions = ("read", "vread", "search-type", "create", "update")
    search_params = {
        "_id": "token",
        "identifier": "token",
        "name": "string",
        "family": "string",
        "given": "string",
        "birthdate": "date",
        "gender": "token",
    }
    conditional_create = True
    audit_type = "patient"

    def get(self, user: User, resource_id: str) -> Patient:
        return self._get(user, resource_id, audit_read=True)

    def resolve(self, user: User, resource_id: str) -> Patient:
        return self._get(user, resource_id, audit_read=False)

    def _get(self, user: User, resource_id: str, *, audit_read: bool) -> Patient:
        patient = None
        try:
            mpi_id = uuid.UUID(resource_id)
        except ValueError:
            mpi_id = None
        if mpi_id is not None:
            patient = visible_patients(user).filter(mpi_id=mpi_id).first()
        if patient is None:
            audit.denied(
                user,
                Action.READ,
                object_type="patient",
                object_id=resource_id,
                reason="not in scope",
            )
            raise NotFound(_("Patient not found"))
        if audit_read:
            audit.record(
                user,
                Action.READ,
                object_type="patient",
                object_id=patient.pk,
                patient_id=patient.pk,
            )
        return patient

    def patient_id(self, obj: Patient) -> int | None:
        return int(obj.pk)

    def lock(self, obj: Patient) -> None:
        Patient.objects.unscoped(
            "row lock on a patient already read in scope"
        ).select_for_update().filter(pk=obj.pk).values_list("pk", flat=True).first()

    def search(self, user: User, query: Query) -> QuerySet[Patient]:
        found = visible_patients(user)
        for name, values in query.match.items():
            for value in values:
                found = found.filter(self._condition(name, value))
        # The registrations of patients read in scope: every one of them is shown (the MPI's
        # purpose is to say where else the person is known).
        registrations = PatientRegistration.objects.unscoped(
            "registrations of patients found in scope"
        ).select_related("institution")
        return found.prefetch_related(Prefetch("registrations", queryset=registrations)).order_by(
            "pk"
        )

    def _condition(self, name: str, value: str) -> Q:
        base = name.split(":", 1)[0]
        condition = Q(pk__in=[])
        for option in alternatives(value):
            if base == "_id":
                with contextlib.suppress(ValueError):
                    condition |= Q(mpi_id=uuid.UUID(option))
            elif base == "identifier":
                condition |= _identifier_condition(*token(option))
            elif base == "name":
                condition |= string_filter(("name", "name_pinyin"), name, option)
            elif base == "family":
                # Chinese names are stored whole, family name first.
                condition |= string_filter(("name", "name_pinyin"), name, option)
            elif base == "given":
                condition |= Q(name__contains=option) | Q(name_pinyin__icontains=option)
            elif base == "birthdate":
                condition |= date_filter("birth_date", option, is_datetime=False)
            elif base == "gender":
                condition |= Q(sex=token(option)[1])
        return condition

    def render(self, obj: Patient) -> dict[str, Any]:
        identifiers: list[dict[str, Any]] = [{"system": PATIENT_ID, "value": str(obj.mpi_id)}]
        if obj.resident_id:
            identifiers.append(
                {
                    "use": "official",
                    "type": {"coding": [{"system": V2_0203, "code": "NI"}]},
                    "system": RESIDENT_ID,
                    "value": obj.resident_id,
                }
            )
        for registration in _registrations(obj):
            institution = registration.institution
            identifiers.append(
                {
                    "use": "usual",
                    "type": {"coding": [{"system": V2_0203, "code": "MR"}]},
                    "system": mrn_system(institution.code),
                    "value": registration.record_number,
                    "assigner": {
                        "identifier": {"system": INSTITUTION_ID, "value": institution.code},
                        "display": institution.name,
                    },
                }
            )
        names = [{"use": "official", "text": obj.name}]
        if obj.name_pinyin:
            names.append({"use": "usual", "text": obj.name_pinyin})
        data: dict[str, Any] = {
            "resourceType": "Patient",
            "id": str(obj.mpi_id),
            "identifier": identifiers,
            "name": names,
            "gender": obj.sex,
            "birthDate": obj.birth_date.isoformat(),
        }
        if obj.phone:
            data["telecom"] = [{"system": "phone", "value": obj.phone}]
        if obj.address:
            data["address"] = [{"text": obj.address}]
        return self.validated(data)

    def create(self, user: User, resource: FhirPatient) -> Patient:
        fields = demographics(resource)
        if fields["birth_date"] is None:
            raise FhirError(
                422,
                "required",
                _("Patient.birthDate is required"),
                expression=["Patient.birthDate"],
            )
        code = user.institution.code if user.institution is not None else ""
        record_number = None
        for identifier in resource.identifier or ():
            system = str(identifier.system or "")
            if system.startswith(MRN_PREFIX):
                if system != mrn_system(code):
                    raise FhirError(
                        422,
                        "invalid",
                        _(
                            "A record number can be registered only at your own institution (%(system)s)"
                        )
                        % {"system": mrn_system(code)},
                        expression=["Patient.identifier"],
                    )
                record_number = str(identifier.value or "")
            elif not system and _type_code(identifier) == "MR":
                record_number = str(identifier.value or "")
        if not record_number:
            raise FhirError(
                422,
                "required",
                _(
                    "Patient.identifier needs the record number at your institution (system %(system)s)"
                )
                % {"system": mrn_system(code)},
                expression=["Patient.identifier"],
            )
        registered = patient_services.register_patient(
            user,
            patient_services.NewPatient(
                name=fields["name"],
                name_pinyin=fields["name_pinyin"],
                sex=fields["sex"],
                birth_date=fields["birth_date"],
                record_number=record_number,
                resident_id=fields["resident_id"],
                phone=fields["phone"],
                address=fields["address"],
            ),
        )
        return registered.patient

    def update(self, user: User, obj: Patient, resource: FhirPatient) -> Patient:
        fields = demographics(resource)
        fixed = {"birth_date": obj.birth_date, "resident_id": obj.resident_id}
        for name, current in fixed.items():
            if fields[name] is not None and fields[name] != current:
                raise FhirError(
                    422,
                    "business-rule",
                    _("The date of birth and the resident ID cannot be changed by an update"),
                    expression=[
                        "Patient.birthDate" if name == "birth_date" else "Patient.identifier"
                    ],
                )
        changes = {
            name: fields[name]
            for name in patient_services.UPDATABLE_FIELDS
            if fields[name] != getattr(obj, name)
        }
        if not changes:
            return obj
        return patient_services.update_patient(user, obj, changes)


def _registrations(patient: Patient) -> list[PatientRegistration]:
    """The patient's registrations with their institutions: prefetched by a search, read
    in one query otherwise (a patient just created or read)."""
    if "registrations" in getattr(patient, "_prefetched_objects_cache", {}):
        return list(patient.registrations.all())
    return list(patient.registrations.select_related("institution"))


def _type_code(identifier: Any) -> str | None:
    if identifier.type is None:
        return None
    for coding in identifier.type.coding or ():
        return str(coding.code)
    return None


def demographics(resource: FhirPatient) -> dict[str, Any]:
    """Our fields from an incoming Patient (names, sex, birth date, resident ID, contact)."""
    names = list(resource.name or ())
    texts = []
    for human in names:
        if human.text:
            texts.append(str(human.text))
        else:
            family = str(human.family or "")
            given = "".join(str(g) for g in human.given or ())
            joined = (
                f"{family}{given}"
                if not _is_latin(family + given)
                else f"{' '.join(str(g) for g in human.given or ())} {family}"
            )
            texts.append(joined.strip())
    chinese = [text for text in texts if text and not _is_latin(text)]
    latin = [text for text in texts if text and _is_latin(text)]
    name = (chinese or latin or [""])[0]
    pinyin = latin[0] if chinese and latin else ""
    resident_id = next(
        (str(i.value) for i in resource.identifier or () if i.system == RESIDENT_ID and i.value),
        None,
    )
    phone = next(
        (str(t.value) for t in resource.telecom or () if t.system in ("phone", "sms") and t.value),
        "",
    )
    address = ""
    for item in resource.address or ():
        address = str(item.text or "") or "".join(
            str(part) for part in [item.state, item.city, item.district, *(item.line or ())] if part
        )
        if address:
            break
    gender = str(resource.gender or "unknown")
    return {
        "name": name,
        "name_pinyin": pinyin,
        "sex": gender if gender in GENDERS else "unknown",
        "birth_date": resource.birthDate,
        "resident_id": resident_id,
        "phone": phone,
        "address": address,
    }


def _identifier_condition(system: str | None, value: str) -> Q:
    if system == PATIENT_ID:
        try:
            return Q(mpi_id=uuid.UUID(value))
        except ValueError:
            return Q(pk__in=[])
    if system == RESIDENT_ID:
        return Q(resident_id=value.upper())
    # Unscoped on purpose: this only narrows the caller's already scoped patient query to
    # the ids holding the record number, and a second scope inside it doubles the plan.
    by_record = PatientRegistration.objects.unscoped(
        "narrowing a scoped patient search by record number"
    ).filter(record_number=value)
    if system is not None and system.startswith(MRN_PREFIX):
        by_record = by_record.filter(institution__code=system[len(MRN_PREFIX) :])
        return Q(pk__in=by_record.values("patient_id"))
    if system:
        return Q(pk__in=[])
    condition = Q(resident_id=value.upper()) | Q(pk__in=by_record.values("patient_id"))
    with contextlib.suppress(ValueError):
        condition |= Q(mpi_id=uuid.UUID(value))
    return condition


PATIENT = register(PatientType())
