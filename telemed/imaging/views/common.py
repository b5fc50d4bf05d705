"""What the imaging pages share: a case's studies and the series the viewer shows, each
as the user receives it (de-identified for a reader outside the network, see
``telemed.imaging.confidentiality``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.imaging import queries
from telemed.imaging.confidentiality.release import Release
from telemed.imaging.confidentiality.shown import shown
from telemed.imaging.models import ImagingStudy

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Consultation


def case_studies(user: User, consultation: Consultation) -> list[ImagingStudy]:
    """The studies attached to the case, as far as the user may see them; each one shown is
    an audited read (saying when it was shown de-identified)."""
    studies = list(
        queries.visible_studies(user)
        .filter(cases__consultation=consultation)
        .select_related("patient")
        .order_by("pk")
    )
    release = Release(user)
    release.decide(studies)
    for study in studies:
        detail: dict[str, object] = {"consultation": consultation.number}
        if release.deidentifies(study) and release.recipient is not None:
            detail.update(deidentified=True, recipient=release.recipient.code)
        audit.record(
            user,
            Action.READ,
            object_type="imaging_study",
            object_id=study.pk,
            patient_id=study.patient_id,
            detail=detail,
        )
    return studies


def shown_studies(user: User, studies: list[ImagingStudy]) -> list[Any]:
    """The studies as the templates show them to ``user``."""
    release = Release(user)
    release.decide(studies)
    answer = [shown(study, release.replacements(study)) for study in studies]
    release.save()
    return answer


def dicomweb_base() -> str:
    return reverse("dicomweb:studies")


def series_of(user: User, studies: list[ImagingStudy]) -> list[dict[str, Any]]:
    """Each study's series with its first instance (for the thumbnail), in one query of
    series and one of instances, all through the scoped queries. A study the user receives
    de-identified is addressed by the user's pseudonymous UIDs and named by its pseudonym."""
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
    release = Release(user)
    release.decide(studies)
    base = dicomweb_base()
    answer = []
    for row in series_rows:
        study = row.study
        replacements = release.replacements(study)
        study_uid, series_uid = study.study_instance_uid, row.series_instance_uid
        uid = first.get(row.pk, "")
        patient, description = study.patient_name, row.series_description
        if replacements is not None:
            study_uid, series_uid = replacements.uid(study_uid), replacements.uid(series_uid)
            uid = replacements.uid(uid) if uid else ""
            patient = _("De-identified %(pseudonym)s") % {"pseudonym": replacements.patient_id}
            description = ""
        path = f"{base}/{study_uid}/series/{series_uid}"
        answer.append(
            {
                "study": study_uid,
                "study_id": row.study_id,
                "patient": patient,
                "date": study.study_date.isoformat() if study.study_date else "",
                "series": series_uid,
                "number": row.series_number,
                "modality": row.modality,
                "description": description,
                "body_part": row.body_part_examined,
                "count": row.instance_count,
                "metadata": f"{path}/metadata",
                "thumbnail": f"{path}/instances/{uid}/rendered" if uid else "",
            }
        )
    release.save()
    return answer
