"""ImagingStudy <-> a study in the imaging index (``telemed.imaging``), read and search.

id = the index's row id (two institutions may send the same Study Instance UID; each is its
own record, scoped to its sender). The UID is the identifier (``urn:dicom:uid``), series
are listed with their modality and counts, and a study attached to consultations is
``basedOn`` their ServiceRequests. ``subject`` is the MPI patient when the sender's patient
ID matched one, else the patient as the DICOM header named them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from fhir.resources.R4B.imagingstudy import ImagingStudy as FhirImagingStudy

from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.cases import patient_condition
from telemed.fhir.search import alternatives, date_filter, token
from telemed.fhir.systems import V2_0203
from telemed.imaging import queries as imaging_queries
from telemed.imaging.models import ImagingStudy

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.resources import ResourceType as Kind
    from telemed.fhir.search import Query

DICOM_UID = "urn:dicom:uid"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SENDER_PATIENT_ID = "urn:telemed:dicom-patient-id"


class ImagingStudyType(ResourceType):
    name = "ImagingStudy"
    model = FhirImagingStudy
    search_params = {
        "_id": "token",
        "identifier": "token",
        "patient": "reference",
        "subject": "reference",
        "started": "date",
        "modality": "token",
        "basedon": "reference",
    }
    includes = {"ImagingStudy:patient": "Patient"}
    audit_type = "imaging_study"

    def _studies(self, user: User) -> QuerySet[ImagingStudy]:
        return (
            imaging_queries.visible_studies(user)
            .select_related("patient")
            .prefetch_related("series", "cases__consultation")
        )

    def get(self, user: User, resource_id: str) -> ImagingStudy:
        # get_study audits the read, or the refusal (a non-numeric id is refused as it would
        # be for a number nobody holds).
        imaging_queries.get_study(user, int(resource_id) if resource_id.isdigit() else 0)
        return self._studies(user).get(pk=int(resource_id))

    def patient_id(self, obj: ImagingStudy) -> int | None:
        return obj.patient_id

    def search(self, user: User, query: Query) -> QuerySet[ImagingStudy]:
        found = self._studies(user)
        for name, values in query.match.items():
            for value in values:
                options = alternatives(value)
                if name == "_id":
                    found = found.filter(pk__in=[int(o) for o in options if o.isdigit()])
                elif name == "identifier":
                    uids = [token(o)[1].removeprefix("urn:oid:") for o in options]
                    found = found.filter(study_instance_uid__in=uids)
                elif name in ("patient", "subject"):
                    found = found.filter(patient_condition("", value))
                elif name == "modality":
                    condition = Q(pk__in=[])
                    for option in options:
                        condition |= Q(modalities__contains=token(option)[1])
                    found = found.filter(condition)
                elif name == "basedon":
                    numbers = [o.rsplit("/", 1)[-1] for o in options]
                    found = found.filter(cases__consultation__number__in=numbers).distinct()
                else:
                    found = found.filter(date_filter("study_date", value, is_datetime=False))
        return found.order_by("pk")

    def render(self, obj: ImagingStudy) -> dict[str, Any]:
        if obj.patient is not None:
            subject: dict[str, Any] = {
                "reference": f"Patient/{obj.patient.mpi_id}",
                "display": obj.patient.name,
            }
        else:
            subject = {
                "identifier": {"system": SENDER_PATIENT_ID, "value": obj.patient_dicom_id or "-"},
                "display": obj.patient_name or obj.patient_dicom_id or "-",
            }
        series = [
            {
                "uid": item.series_instance_uid,
                "modality": {"system": DCM, "code": item.modality},
                "numberOfInstances": item.instance_count,
                **({"number": item.series_number} if item.series_number is not None else {}),
                **({"description": item.series_description} if item.series_description else {}),
            }
            for item in obj.series.all()
        ]
        data: dict[str, Any] = {
            "resourceType": "ImagingStudy",
            "id": str(obj.pk),
            "identifier": [{"system": DICOM_UID, "value": f"urn:oid:{obj.study_instance_uid}"}],
            "status": "available",
            "subject": subject,
            "numberOfSeries": obj.series_count,
            "numberOfInstances": obj.instance_count,
        }
        if obj.modality_list:
            data["modality"] = [{"system": DCM, "code": code} for code in obj.modality_list]
        if obj.study_date is not None:
            data["started"] = obj.study_date.isoformat()
        if obj.study_description:
            data["description"] = obj.study_description
        if obj.accession_number:
            data["identifier"].append(
                {
                    "type": {"coding": [{"system": V2_0203, "code": "ACSN"}]},
                    "value": obj.accession_number,
                }
            )
        cases = [link.consultation for link in obj.cases.all()]
        if cases:
            data["basedOn"] = [{"reference": f"ServiceRequest/{case.number}"} for case in cases]
        if series:
            data["series"] = series
        return self.validated(data)

    def include(self, obj: ImagingStudy, name: str) -> list[tuple[Kind, str]]:
        from telemed.fhir.resources.patient import PATIENT

        return [(PATIENT, str(obj.patient.mpi_id))] if obj.patient is not None else []


IMAGING_STUDY = register(ImagingStudyType())
