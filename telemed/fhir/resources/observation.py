"""Observation <-> an ECG case's tracing (``telemed.ecg``): one ``component`` per lead, each
a ``valueSampledData`` in microvolts (R4: ``period`` in ms), lead codes from MDC
(ISO/IEEE 11073-10101, ``MDC_ECG_LEAD_*``) as the FHIR ECG examples use them, so that the
ECG app's own FHIR reader takes the resource back unchanged. Read, search and create.

A create is an ECG sent by a hospital system: an Observation coded as an EKG study (LOINC
11524-6, or MDC_ECG_ELEC_POTL as the FHIR ECG example codes it) with one
``valueSampledData`` component per lead and a ``subject`` Patient in the caller's scope.
It goes through ``ecg.services.submit_ecg`` (channel ``fhir``) like an upload: read,
measured, stored as sent and submitted to the institution's ECG pool; a tracing the ECG
reader refuses answers 422 (413 when too large) with the reader's reason, and nothing is
written. The patient's consent to telemedicine must be on record (``ecg.intake``).

id = the ECG case's consultation number. A tracing longer than ``MAX_INLINE_SECONDS`` is
served without inline data (its components name the leads and the rate only): the
windows of the ECG viewer's API read such a record in parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from fhir.resources.R4B.observation import Observation

from telemed.core.errors import NotFound
from telemed.ecg import intake, services
from telemed.ecg import samples as sample_store
from telemed.ecg.models import EcgRecording
from telemed.ecg.signal.errors import EcgFormatError
from telemed.fhir.errors import FhirError
from telemed.fhir.resources import ResourceType, referenced, register
from telemed.fhir.resources.cases import case_by_number, number_condition, patient_condition
from telemed.fhir.search import Query, date_filter

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.resources import ResourceType as Kind

LOINC = "http://loinc.org"
MDC = "urn:oid:2.16.840.1.113883.6.24"
UCUM = "http://unitsofmeasure.org"
# MDC_ECG_LEAD_<name> = 131072 + offset.
LEAD_OFFSETS = {
    "I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
    "III": 61, "aVR": 62, "aVL": 63, "aVF": 64,
}  # fmt: skip
MAX_INLINE_SECONDS = 300


def _recordings(user: User) -> QuerySet[EcgRecording]:
    return EcgRecording.objects.visible_to(user).select_related("consultation__patient")


class ObservationType(ResourceType):
    name = "Observation"
    model = Observation
    interactions = ("read", "vread", "search-type", "create")
    search_params = {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "based-on": "reference",
        "code": "token",
        "date": "date",
    }
    includes = {"Observation:patient": "Patient"}
    audit_type = "ecg_recording"

    def get(self, user: User, resource_id: str) -> EcgRecording:
        case = case_by_number(user, resource_id, what=self.audit_type)
        found = _recordings(user).filter(consultation=case).first()
        if found is None:
            raise NotFound("no ECG")
        return found

    def patient_id(self, obj: EcgRecording) -> int | None:
        return int(obj.consultation.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[EcgRecording]:
        found = _recordings(user)
        for name, values in query.match.items():
            for value in values:
                if name in ("patient", "subject"):
                    found = found.filter(patient_condition("consultation__", value))
                elif name in ("_id", "based-on"):
                    found = found.filter(
                        number_condition(
                            "consultation__",
                            value,
                            "ServiceRequest" if name == "based-on" else "Observation",
                        )
                    )
                elif name == "code":
                    # Every ECG here is an EKG study (LOINC 11524-6).
                    if value.split("|")[-1] != "11524-6":
                        found = found.none()
                else:
                    found = found.filter(date_filter("created_at", value, is_datetime=True))
        return found.order_by("pk")

    def render(self, obj: EcgRecording) -> dict[str, Any]:
        case = obj.consultation
        inline = obj.duration_s <= MAX_INLINE_SECONDS
        values = (
            sample_store.read_all(obj.samples_id, len(obj.leads), obj.n_samples) if inline else None
        )
        period_ms = round(1000.0 / obj.sampling_rate, 6)
        components = []
        for index, lead in enumerate(obj.leads):
            code: dict[str, Any] = {"text": lead}
            if lead in LEAD_OFFSETS:
                code["coding"] = [
                    {
                        "system": MDC,
                        "code": str(131072 + LEAD_OFFSETS[lead]),
                        "display": f"MDC_ECG_LEAD_{lead}",
                    }
                ]
            sampled: dict[str, Any] = {
                "origin": {"value": 0, "unit": "uV", "system": UCUM, "code": "uV"},
                "period": period_ms,
                "factor": 1,
                "dimensions": 1,
            }
            if values is not None:
                sampled["data"] = " ".join(str(int(v)) for v in values[index])
            components.append({"code": code, "valueSampledData": sampled})
        data: dict[str, Any] = {
            "resourceType": "Observation",
            "id": case.number,
            "status": "final" if case.state in ("concluded", "closed") else "preliminary",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "procedure",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": "11524-6", "display": "EKG study"}]},
            "subject": {
                "reference": f"Patient/{case.patient.mpi_id}",
                "display": case.patient.name,
            },
            "basedOn": [{"reference": f"ServiceRequest/{case.number}"}],
            "effectiveDateTime": obj.created_at.isoformat(),
            "component": components,
        }
        return self.validated(data)

    def create(self, user: User, resource: Observation) -> EcgRecording:
        codes = {(str(c.system or ""), str(c.code or "")) for c in resource.code.coding or ()}
        try:
            intake.require_ecg_code(codes)
        except intake.NotAnEcg as error:
            raise FhirError(
                422, "not-supported", error.message, expression=["Observation.code"]
            ) from None
        patient = referenced(user, resource.subject, "Patient", "Observation.subject")[1]
        try:
            intake.require_consent_on_record(patient, named=f"Patient/{patient.mpi_id}")
            case = services.submit_ecg(
                user,
                patient,
                {"observation.json": resource.model_dump_json(exclude_none=True).encode()},
                main="observation.json",
                intake=services.Intake(channel="fhir"),
            )
        except EcgFormatError as error:
            raise FhirError(
                error.status,
                "too-costly" if error.status == 413 else "invalid",
                error.message,
                expression=["Observation.component"],
            ) from None
        except intake.NotOnRecord as error:
            raise FhirError(
                422, "business-rule", error.message, expression=["Observation.subject"]
            ) from None
        return _recordings(user).get(consultation=case)

    def include(self, obj: EcgRecording, name: str) -> list[tuple[Kind, str]]:
        from telemed.fhir.resources.patient import PATIENT

        return [(PATIENT, str(obj.consultation.patient.mpi_id))]


OBSERVATION = register(ObservationType())
