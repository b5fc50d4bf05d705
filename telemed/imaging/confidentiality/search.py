"""QIDO-RS matching for a reader outside the network: keys are matched against what the
reader would see. UIDs match the reader's pseudonyms (and the stored UIDs only of studies
the reader receives identified); the patient ID or name matches the reader's pseudonym of
the patient; an attribute the profile removes or empties matches only identified studies.
Universal matching (empty, ``*``) is untouched. Wildcards apply to stored values only, so
they never reach a de-identified study's removed attributes."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from telemed.directory.models import Institution
from telemed.imaging import matching
from telemed.imaging.confidentiality.disclosure import identified_condition
from telemed.imaging.confidentiality.profile import ACTIONS
from telemed.imaging.confidentiality.pseudonyms import originals, patient_name
from telemed.imaging.models import Pseudonym

_NAME_PREFIX = patient_name("")


def _patient_condition(recipient: Institution, prefix: str, value: str) -> Q:
    code = value.removeprefix(_NAME_PREFIX) if value.startswith(_NAME_PREFIX) else value
    condition = Q(pk__in=[])
    for key in originals(recipient, Pseudonym.Kind.PATIENT, [code]).values():
        head, _sep, rest = key.partition(":")
        if head == "mpi":
            condition |= Q(**{f"{prefix}patient_id": int(rest)})
        else:
            condition |= Q(
                **{f"{prefix}institution_id": int(head), f"{prefix}patient_dicom_id": rest}
            )
    return condition


def restrict(
    recipient: Institution, level: str, rows: QuerySet[Any], criteria: dict[str, str]
) -> tuple[QuerySet[Any], dict[str, str]]:
    """Apply the keys that touch identity to ``rows`` (of the level's model); return the
    rows and the keys left for ordinary matching."""
    prefix = "" if level == "STUDY" else "study__"
    identified = identified_condition(recipient, prefix)
    attrs = matching.LEVELS[level]
    left: dict[str, str] = {}
    for keyword, value in criteria.items():
        attr = attrs.get(keyword)
        stored = matching.condition_for(attr, value) if attr is not None else None
        if attr is None or stored is None:
            left[keyword] = value
            continue
        if attr.kind == "uid":
            given = [v.strip() for v in value.split("\\") if v.strip()]
            found = originals(recipient, Pseudonym.Kind.UID, given)
            rows = rows.filter(
                Q(**{f"{attr.path}__in": list(found.values())}) | (stored & identified)
            )
        elif keyword in ("PatientID", "PatientName"):
            rows = rows.filter((stored & identified) | _patient_condition(recipient, prefix, value))
        elif keyword in ACTIONS or attr.kind == "pn":
            rows = rows.filter(stored & identified)
        else:
            left[keyword] = value
    return rows, left
