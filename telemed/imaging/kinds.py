"""The imaging kind's step policy: every step (QC and triage), the QC checklist, and the
platform's own checks of the attached studies shown next to it."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pydicom
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telemed.consultations.policies import AutomaticCheck, ChecklistItem, KindPolicy, register
from telemed.consultations.states import Kind
from telemed.imaging.models import CaseStudy, ImagingRequest, ImagingStudy
from telemed.storage.blobstore import get_blob_store

if TYPE_CHECKING:
    from telemed.consultations.models import Consultation

Result = tuple[bool, str]


def _studies(consultation: Consultation) -> list[ImagingStudy]:
    links = CaseStudy.objects.filter(consultation=consultation).select_related("study")
    return [link.study for link in links]


def _request(consultation: Consultation) -> ImagingRequest | None:
    return ImagingRequest.objects.filter(consultation=consultation).first()


def check_studies_attached(consultation: Consultation) -> Result:
    studies = _studies(consultation)
    if not studies:
        return False, _("No study is attached.")
    return True, _("%(count)s study(ies) attached.") % {"count": len(studies)}


def check_required_tags(consultation: Consultation) -> Result:
    missing: list[str] = []
    for study in _studies(consultation):
        for label, value in (
            ("PatientName", study.patient_name),
            ("PatientBirthDate", study.patient_birth_date),
            ("PatientSex", study.patient_sex),
            ("StudyDate", study.study_date),
            ("Modality", study.modalities),
        ):
            if not value:
                missing.append(label)
        if any(not series.body_part_examined for series in study.series.all()):
            missing.append("BodyPartExamined")
    if missing:
        return False, _("Missing: %(names)s.") % {"names": ", ".join(sorted(set(missing)))}
    return True, _("Patient, study and series attributes are present.")


def check_modality_and_body_part(consultation: Consultation) -> Result:
    request = _request(consultation)
    studies = _studies(consultation)
    if request is None or not (request.modality or request.body_part):
        return False, _("The request names no modality or body part.")
    modalities = {m for study in studies for m in study.modality_list}
    parts = {
        series.body_part_examined.upper() for study in studies for series in study.series.all()
    }
    problems = []
    if request.modality and request.modality.upper() not in modalities:
        problems.append(
            _("requested %(wanted)s, received %(got)s")
            % {"wanted": request.modality, "got": ", ".join(sorted(modalities)) or "-"}
        )
    if request.body_part and request.body_part.upper() not in parts:
        problems.append(
            _("requested body part %(wanted)s, received %(got)s")
            % {"wanted": request.body_part, "got": ", ".join(sorted(parts)) or "-"}
        )
    if problems:
        return False, "; ".join(problems)
    return True, _("Modality and body part are as requested.")


def check_counts(consultation: Consultation) -> Result:
    notes = []
    for study in _studies(consultation):
        series = list(study.series.all())
        actual = sum(s.instance_count for s in series)
        if not series or actual == 0 or actual != study.instance_count:
            return False, _("Study %(uid)s has no complete series.") % {
                "uid": study.study_instance_uid
            }
        notes.append(
            _("%(series)s series, %(images)s images") % {"series": len(series), "images": actual}
        )
    if not notes:
        return False, _("No study is attached.")
    return True, "; ".join(notes)


def check_pixels_decode(consultation: Consultation) -> Result:
    """Decode one image of every series (the first by instance number)."""
    checked = 0
    for study in _studies(consultation):
        for series in study.series.all():
            instance = series.instances.select_related("blob").first()
            if instance is None:
                return False, _("A series has no images.")
            # One instance, read whole: the decoder needs a seekable file.
            with get_blob_store().open(instance.blob.sha256) as stream:
                data = io.BytesIO(stream.read())
            try:
                pydicom.dcmread(data).pixel_array  # noqa: B018 - decoding is the check
            except Exception as error:
                return False, _("Series %(number)s does not decode: %(error)s") % {
                    "number": series.series_number or "?",
                    "error": str(error)[:120],
                }
            checked += 1
    if not checked:
        return False, _("No study is attached.")
    return True, _("Pixel data decodes (%(count)s series checked).") % {"count": checked}


def check_patient_matches(consultation: Consultation) -> Result:
    patient = consultation.patient
    record_numbers = set(
        patient.registrations.filter(
            institution_id=consultation.requesting_institution_id
        ).values_list("record_number", flat=True)
    )
    problems = []
    for study in _studies(consultation):
        if study.patient_id is not None and study.patient_id != patient.pk:
            problems.append(_("the study is linked to another patient"))
        if study.patient_dicom_id not in record_numbers:
            problems.append(
                _("patient ID %(id)s is not the case patient's record number")
                % {"id": study.patient_dicom_id}
            )
        if study.patient_birth_date and study.patient_birth_date != patient.birth_date:
            problems.append(_("the birth date differs"))
        if not _same_name(study.patient_name, patient.name, patient.name_pinyin):
            problems.append(_("the name %(name)s differs") % {"name": study.patient_name or "-"})
    if not _studies(consultation):
        return False, _("No study is attached.")
    if problems:
        return False, "; ".join(sorted(set(problems)))
    return True, _("Name, ID and birth date match the case's patient.")


def _same_name(dicom_name: str, name: str, pinyin: str) -> bool:
    # PN components are separated by ^ (family^given); a Chinese name is usually sent whole
    # in the ideographic group (after "=") or as pinyin in the alphabetic one.
    groups = [g.replace("^", "").replace(" ", "").lower() for g in dicom_name.split("=")]
    wanted = {name.replace(" ", "").lower(), pinyin.replace(" ", "").lower()} - {""}
    return any(group in wanted for group in groups if group)


IMAGING = KindPolicy(
    kind=Kind.IMAGING,
    report_page="imaging:report",
    amend_page="imaging:amend",
    checklist=(
        ChecklistItem("images_diagnostic", gettext_lazy("Image quality is diagnostic")),
        ChecklistItem(
            "study_matches_request", gettext_lazy("The study is the examination requested")
        ),
        ChecklistItem(
            "history_given", gettext_lazy("Clinical history and question for the reader are given")
        ),
        ChecklistItem(
            "prior_studies", gettext_lazy("Prior studies are attached if relevant"), required=False
        ),
    ),
    automatic_checks=(
        AutomaticCheck("studies_attached", gettext_lazy("Study attached"), check_studies_attached),
        AutomaticCheck("required_tags", gettext_lazy("Required tags present"), check_required_tags),
        AutomaticCheck(
            "modality_body_part",
            gettext_lazy("Modality and body part as requested"),
            check_modality_and_body_part,
        ),
        AutomaticCheck("counts", gettext_lazy("Series and image counts"), check_counts),
        AutomaticCheck("pixels_decode", gettext_lazy("Pixel data decodes"), check_pixels_decode),
        AutomaticCheck(
            "patient_matches",
            gettext_lazy("Study patient matches the case's patient"),
            check_patient_matches,
        ),
    ),
    session_minutes=20,
)


def register_policy() -> None:
    register(IMAGING)
