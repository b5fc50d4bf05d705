"""What the imaging pages share: a case's studies and the series the viewer shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.imaging import queries
from telemed.imaging.models import ImagingStudy

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation


def case_studies(user: User, consultation: Consultation) -> list[ImagingStudy]:
    """The studies attached to the case, as far as the user may see them; each one shown is
    an audited read."""
    studies = list(
        queries.visible_studies(user)
        .filter(cases__consultation=consultation)
        .select_related("patient")
        .order_by("pk")
    )
    for study in studies:
        audit.record(
            user,
            Action.READ,
            object_type="imaging_study",
            object_id=study.pk,
            patient_id=study.patient_id,
            detail={"consultation": consultation.number},
        )
    return studies


def dicomweb_base() -> str:
    return reverse("dicomweb:studies")


def series_of(user: User, studies: list[ImagingStudy]) -> list[dict[str, Any]]:
    """Each study's series with its first instance (for the thumbnail), in one query of
    series and one of instances, all through the scoped queries."""
    series_rows = list(
        queries.visible_series(user)
        .filter(study__in=studies)
        .select_related("study")
        .order_by("study_id", "series_number", "pk")
    )
    first: dict[int, str] = {}
    instances = (
        queries.visible_instances(user)
        .filter(series__in=series_rows)
        .order_by("series_id", "instance_number", "pk")
        .values_list("series_id", "sop_instance_uid")
    )
    for series_id, uid in instances:
        first.setdefault(series_id, uid)
    base = dicomweb_base()
    answer = []
    for row in series_rows:
        path = f"{base}/{row.study.study_instance_uid}/series/{row.series_instance_uid}"
        uid = first.get(row.pk, "")
        answer.append(
            {
                "study": row.study.study_instance_uid,
                "study_id": row.study_id,
                "patient": row.study.patient_name,
                "date": row.study.study_date.isoformat() if row.study.study_date else "",
                "series": row.series_instance_uid,
                "number": row.series_number,
                "modality": row.modality,
                "description": row.series_description,
                "body_part": row.body_part_examined,
                "count": row.instance_count,
                "metadata": f"{path}/metadata",
                "thumbnail": f"{path}/instances/{uid}/rendered" if uid else "",
            }
        )
    return answer
