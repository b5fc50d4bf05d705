"""DiagnosticReport <-> a signed conclusion (mapping in ``telemed.consultations.fhir``).

id = ``<consultation number>-v<version>``; an amendment is a new report (status
``amended``). Read and search only: conclusions are signed by experts on the platform.

An imaging report names the studies it was read from (``imagingStudy``, with each study's
UID as the reference's identifier), and an ECG report its tracing (``result``: the
Observation); the rest-hook sends the same references (``telemed.exchange.payloads``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Q, QuerySet
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from telemed.consultations import fhir as mapping
from telemed.consultations.models import Conclusion
from telemed.consultations.states import Kind as CaseKind
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.cases import patient_condition, read_audited
from telemed.fhir.search import Query, alternatives, date_filter, reference_id

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.fhir.resources import ResourceType as Kind


def conclusions(user: User) -> QuerySet[Conclusion]:
    return Conclusion.objects.visible_to(user).select_related(
        "consultation__patient",
        "consultation__requesting_institution",
        "signed_by__institution",
        "supersedes__consultation",
    )


def conclusion_by_id(user: User, resource_id: str, what: str) -> Conclusion:
    number, _sep, version = resource_id.rpartition("-v")
    found = None
    if number and version.isdigit():
        found = (
            conclusions(user).filter(consultation__number=number[:24], version=int(version)).first()
        )
    return read_audited(user, found, what, resource_id)


def conclusion_condition(name: str, value: str) -> Q:
    if name in ("patient", "subject"):
        return patient_condition("consultation__", value)
    if name == "based-on":
        numbers = [reference_id(o, "ServiceRequest") for o in alternatives(value)]
        return Q(consultation__number__in=numbers)
    if name == "_id":
        condition = Q(pk__in=[])
        for option in alternatives(value):
            number, _sep, version = option.rpartition("-v")
            if number and version.isdigit():
                condition |= Q(consultation__number=number, version=int(version))
        return condition
    return date_filter("signed_at", value, is_datetime=True)


class ConclusionType(ResourceType):
    """A type served from signed conclusions (DiagnosticReport, DocumentReference): read by
    id, searched by the shared parameters and by ``status``, whose codes each type names."""

    audit_type = "conclusion"
    # Each ``status`` code the type answers to, as a condition on the conclusion.
    statuses: ClassVar[dict[str, Q]] = {}

    def get(self, user: User, resource_id: str) -> Conclusion:
        return conclusion_by_id(user, resource_id, self.audit_type)

    def patient_id(self, obj: Conclusion) -> int | None:
        return int(obj.consultation.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Conclusion]:
        found = conclusions(user)
        for name, values in query.match.items():
            for value in values:
                if name == "status":
                    condition = Q(pk__in=[])
                    for code in alternatives(value):
                        if code in self.statuses:
                            condition |= self.statuses[code]
                    found = found.filter(condition)
                else:
                    found = found.filter(conclusion_condition(name, value))
        return found.order_by("pk")


class DiagnosticReportType(ConclusionType):
    name = "DiagnosticReport"
    model = DiagnosticReport
    search_params = {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "based-on": "reference",
        "status": "token",
        "issued": "date",
    }
    includes = {
        "DiagnosticReport:based-on": "ServiceRequest",
        "DiagnosticReport:subject": "Patient",
    }
    statuses: ClassVar[dict[str, Q]] = {
        "final": Q(supersedes__isnull=True),
        "amended": Q(supersedes__isnull=False),
    }

    def render(self, obj: Conclusion) -> dict[str, Any]:
        data = mapping.to_json(mapping.diagnostic_report(obj))
        case = obj.consultation
        if case.kind == CaseKind.IMAGING:
            studies = _studies_read(case.pk)
            if studies:
                data["imagingStudy"] = studies
        elif case.kind == CaseKind.ECG and _has_tracing(case.pk):
            data["result"] = [{"reference": f"Observation/{case.number}", "display": "ECG"}]
        return data

    def include(self, obj: Conclusion, name: str) -> list[tuple[Kind, str]]:
        from telemed.fhir.resources.patient import PATIENT
        from telemed.fhir.resources.servicerequest import SERVICE_REQUEST

        if name == "DiagnosticReport:based-on":
            return [(SERVICE_REQUEST, obj.consultation.number)]
        return [(PATIENT, str(obj.consultation.patient.mpi_id))]


def _studies_read(consultation_id: int) -> list[dict[str, Any]]:
    from telemed.fhir.resources.imagingstudy import DICOM_UID
    from telemed.imaging.models import ImagingStudy

    # References only (ids and UIDs): whoever reads the report may read its case; reading
    # a study itself is scoped and audited by ImagingStudy's own read.
    found = (
        ImagingStudy.objects.unscoped("a report names the studies it was read from")
        .filter(cases__consultation_id=consultation_id)
        .order_by("pk")
        .values_list("pk", "study_instance_uid")
    )
    return [
        {
            "reference": f"ImagingStudy/{pk}",
            "type": "ImagingStudy",
            "identifier": {"system": DICOM_UID, "value": f"urn:oid:{uid}"},
        }
        for pk, uid in found
    ]


def _has_tracing(consultation_id: int) -> bool:
    from telemed.ecg.models import EcgRecording

    return (
        EcgRecording.objects.unscoped("a report names its tracing")
        .filter(consultation_id=consultation_id)
        .exists()
    )


DIAGNOSTIC_REPORT = register(DiagnosticReportType())
