"""The imaging app's JSON API routes (mounted in telemed/api.py): the received studies in
the caller's scope, and attaching one to an imaging case."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from telemed.accounts.models import User
from telemed.consultations.workflow import access
from telemed.imaging import queries, services
from telemed.imaging.confidentiality.disclosure import identified_condition, outside_recipient
from telemed.imaging.confidentiality.release import Release
from telemed.imaging.confidentiality.shown import masked_fields
from telemed.imaging.models import ImagingStudy
from telemed.imaging.schemas import (
    AttachIn,
    ImagingRequestIn,
    ImagingRequestOut,
    StudyOut,
    StudyPage,
)

router = Router(tags=["imaging"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _summary(study: ImagingStudy, release: Release | None = None) -> dict[str, object]:
    """The study as the caller receives it (de-identified for a reader outside the
    network)."""
    replacements = release.replacements(study) if release is not None else None
    summary = {
        **{
            name: getattr(study, name)
            for name in (
                "study_instance_uid",
                "patient_id",
                "patient_dicom_id",
                "patient_name",
                "patient_birth_date",
                "patient_sex",
                "study_date",
                "accession_number",
                "study_description",
                "series_count",
                "instance_count",
                "received_at",
            )
        },
        "id": study.pk,
        "modalities": study.modality_list,
        "institution": study.institution.code,
    }
    if replacements is not None:
        summary.update(masked_fields(study, replacements), institution="")
    return summary


class StudySearch(Schema):
    patient_dicom_id: str = Field(default="", max_length=64)
    unlinked: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


@router.get("/studies", response=StudyPage, summary="Received studies in your scope")
def list_studies(request: HttpRequest, params: Query[StudySearch]) -> dict[str, object]:
    user = _user(request)
    studies = queries.visible_studies(user).select_related("institution")
    if params.patient_dicom_id:
        studies = studies.filter(patient_dicom_id=params.patient_dicom_id)
        recipient = outside_recipient(user)
        if recipient is not None:
            # The ID as sent is not an address for a reader who sees only its pseudonym.
            studies = studies.filter(identified_condition(recipient))
    if params.unlinked:
        studies = studies.filter(patient__isnull=True)
    total = studies.count()
    page = list(studies[params.offset : params.offset + params.limit])
    criteria = {"patient_dicom_id": params.patient_dicom_id, "unlinked": str(params.unlinked)}
    queries.record_search(user, "STUDY", criteria, total)
    release = Release(user)
    release.decide(page)
    items = [_summary(study, release) for study in page]
    release.save()
    return {"total": total, "items": items}


@router.get("/studies/{int:study_id}", response=StudyOut, summary="One study and its series")
def get_study(request: HttpRequest, study_id: int) -> dict[str, object]:
    user = _user(request)
    study = queries.get_study(user, study_id)
    series = list(study.series.order_by("series_number", "pk").values())
    release = Release(user)
    replacements = release.replacements(study)
    if replacements is not None:
        for row in series:
            row["series_instance_uid"] = replacements.uid(row["series_instance_uid"])
            row["series_description"] = ""
    summary = _summary(study, release)
    release.save()
    return {**summary, "series": series}


@router.post(
    "/consultations/{int:consultation_id}/studies",
    response={201: StudyOut},
    summary="Attach a received study to an imaging case",
)
def attach(request: HttpRequest, consultation_id: int, body: AttachIn) -> Status[dict[str, object]]:
    user = _user(request)
    consultation = access(user, consultation_id)
    study = queries.get_study(user, body.study_id)
    services.attach_study(user, consultation, study)
    study.refresh_from_db()
    return Status(201, {**_summary(study), "series": list(study.series.values())})


@router.put(
    "/consultations/{int:consultation_id}/request",
    response=ImagingRequestOut,
    summary="Say which modality and body part the imaging case asks to be read",
)
def put_request(
    request: HttpRequest, consultation_id: int, body: ImagingRequestIn
) -> dict[str, str]:
    user = _user(request)
    consultation = access(user, consultation_id)
    saved = services.set_request(
        user, consultation, modality=body.modality, body_part=body.body_part
    )
    return {"modality": saved.modality, "body_part": saved.body_part}
