"""DocumentReference <-> the signed text of a conclusion, with its PDF as a second content
(mapping in ``telemed.consultations.fhir``). id as the DiagnosticReport's; read and search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from fhir.resources.R4B.documentreference import DocumentReference

from telemed.consultations import fhir as mapping
from telemed.consultations.models import Conclusion
from telemed.fhir.resources import register
from telemed.fhir.resources.diagnosticreport import ConclusionType

if TYPE_CHECKING:
    pass


class DocumentReferenceType(ConclusionType):
    name = "DocumentReference"
    model = DocumentReference
    search_params = {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "status": "token",
        "date": "date",
    }
    statuses: ClassVar[dict[str, Q]] = {
        "current": Q(superseded_by__isnull=True),
        "superseded": Q(superseded_by__isnull=False),
    }

    def render(self, obj: Conclusion) -> dict[str, Any]:
        return mapping.to_json(mapping.document_reference(obj, pdf_url=_pdf_url(obj)))


def _pdf_url(conclusion: Conclusion) -> str:
    try:
        path = reverse("consultation_media:conclusion_pdf", args=[conclusion.consultation_id])
    except NoReverseMatch:
        return ""
    return f"{path}?version={conclusion.version}"


DOCUMENT_REFERENCE = register(DocumentReferenceType())
