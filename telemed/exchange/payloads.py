"""What a FHIR rest-hook subscriber is sent for a signed conclusion.

A report that stands alone (a multidisciplinary or pathology case) is the bare
``DiagnosticReport``, as before. An imaging report travels with the studies it was read
from: a ``collection`` Bundle whose first entry is the ``DiagnosticReport`` and whose other
entries are the ``ImagingStudy`` resources its ``imagingStudy`` references point at. A
collection, not a transaction: the receiver is told what was signed, not asked to store
resources whose subject and requests live on the hub. The entries' ``fullUrl``s are
``urn:uuid:``s made from the resources' ids (so the references resolve inside the Bundle),
and each resource keeps its hub id (``GET /fhir/ImagingStudy/<id>`` reads it again).
An ECG report names its tracing in ``result`` (``Observation/<case number>`` on the hub)
without carrying it: a tracing is too large to send with every report.

Everything is read as the subscriber's own system user, so a hospital is sent only what
its institution may see.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle

from telemed.consultations import fhir
from telemed.consultations.states import Kind
from telemed.core import clock
from telemed.ecg.models import EcgRecording
from telemed.fhir.resources.imagingstudy import IMAGING_STUDY
from telemed.imaging import queries as imaging_queries

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion

CONTENT_TYPE = "application/fhir+json"
# The namespace of the entries' urn:uuid fullUrls (uuid5 of "<type>/<id>"), fixed so that
# the same resource always has the same fullUrl.
ENTRY_NAMESPACE = uuid.UUID("4f0c6c2e-8a36-5d55-9a53-6d1f2b7e1c01")


def entry_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'{resource_type}/{resource_id}')}"


def rest_hook(reader: User, conclusion: Conclusion, key: str) -> str:
    """The rest-hook body (JSON text) for ``conclusion``, as ``reader`` may see it."""
    report = fhir.to_json(fhir.diagnostic_report(conclusion))
    kind = conclusion.consultation.kind
    if kind == Kind.ECG and _has_tracing(reader, conclusion):
        report["result"] = [
            {
                "reference": f"Observation/{conclusion.consultation.number}",
                "display": "ECG",
            }
        ]
    studies = _studies(reader, conclusion) if kind == Kind.IMAGING else []
    if not studies:
        return json.dumps(report, ensure_ascii=False)
    report["imagingStudy"] = [
        {
            "reference": entry_url("ImagingStudy", study["id"]),
            "type": "ImagingStudy",
            "identifier": study["identifier"][0],
            **({"display": study["description"]} if study.get("description") else {}),
        }
        for study in studies
    ]
    bundle = {
        "resourceType": "Bundle",
        # The outbox row's idempotency key, also in the body: a receiver that keeps the
        # Bundle can tell a repeat without the HTTP header.
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{key}"},
        "type": "collection",
        "timestamp": clock.now().isoformat(),
        "entry": [
            {"fullUrl": entry_url("DiagnosticReport", report["id"]), "resource": report},
            *(
                {"fullUrl": entry_url("ImagingStudy", study["id"]), "resource": study}
                for study in studies
            ),
        ],
    }
    # The whole Bundle is checked, entries too: a mapping that strays from R4 fails in
    # the tests, not at a partner.
    Bundle.model_validate(bundle)
    return json.dumps(bundle, ensure_ascii=False)


def _studies(reader: User, conclusion: Conclusion) -> list[dict[str, Any]]:
    """The case's attached studies as ImagingStudy resources (the reader's scope)."""
    found = (
        imaging_queries.visible_studies(reader)
        .filter(cases__consultation_id=conclusion.consultation_id)
        .select_related("patient")
        .prefetch_related("series", "cases__consultation")
        .order_by("pk")
    )
    # The render puts the Study Instance UID first among the identifiers.
    return [IMAGING_STUDY.render(study) for study in found]


def _has_tracing(reader: User, conclusion: Conclusion) -> bool:
    return (
        EcgRecording.objects.visible_to(reader)
        .filter(consultation_id=conclusion.consultation_id)
        .exists()
    )
