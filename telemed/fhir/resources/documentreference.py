"""DocumentReference <-> the signed text of a conclusion, with its PDF as a second content
(mapping in ``telemed.consultations.fhir``). id as the DiagnosticReport's; read and search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from fhir.resources.R4B.documentreference import DocumentReference

from telemed.consultations import fhir as mapping
from telemed.consultations.models import Conclusion
from telemed.fhir.resources import ResourceType, register
from telemed.fhir.resources.diagnosticreport import (
    conclusion_by_id,
    conclusion_condition,
    conclusions,
)
from telemed.fhir.search import Query, alternatives

if TYPE_CHECKING:
    from telemed.accounts.models import User


class DocumentReferenceType(ResourceType):
    name = "DocumentReference"
    model = DocumentReference
    search_params = {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "status": "token",
        "date": "date",
    }
    audit_type = "conclusion"

    def get(self, user: User, resource_id: str) -> Conclusion:
        return conclusion_by_id(user, resource_id, self.audit_type)

    def patient_id(self, obj: Conclusion) -> int | None:
        return int(obj.consultation.patient_id)

    def search(self, user: User, query: Query) -> QuerySet[Conclusion]:
        found = conclusions(user)
        for name, values in query.match.items():
            for value in values:
                if name == "status":
                    wanted = set(alternatives(value))
                    condition = Q(pk__in=[])
                    if "current" in wanted:
                        condition |= Q(superseded_by__isnull=True)
                    if "superseded" in wanted:
                        condition |= Q(superseded_by__isnull=False)
                    found = found.filter(condition)
                else:
                    found = found.filter(conclusion_condition(name, value))
        return found.order_by("pk")

    def render(self, obj: Conclusion) -> dict[str, Any]:
        return mapping.to_json(mapping.document_reference(obj, pdf_url=_pdf_url(obj)))


def _pdf_url(conclusion: Conclusion) -> str:
    try:
        path = reverse("consultation_media:conclusion_pdf", args=[conclusion.consultation_id])
    except NoReverseMatch:
        return ""
    return f"{path}?version={conclusion.version}"


DOCUMENT_REFERENCE = register(DocumentReferenceType())
