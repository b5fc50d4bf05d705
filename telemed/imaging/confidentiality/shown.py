"""What the imaging pages and the JSON API show of a study that goes to the reader
de-identified: the pseudonymous patient ID in place of the name and ID, no birth date, no
accession number or description, no link to the patient record, the pseudonymous UID."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telemed.imaging.confidentiality.pseudonyms import StudyReplacements

if TYPE_CHECKING:
    from telemed.imaging.models import ImagingStudy


def masked_fields(study: ImagingStudy, replacements: StudyReplacements) -> dict[str, Any]:
    """The study's attributes (by model field name) as a de-identified reader sees them."""
    return {
        "study_instance_uid": replacements.uid(study.study_instance_uid),
        "patient_id": None,
        "patient_dicom_id": replacements.patient_id,
        "patient_name": replacements.patient_name,
        "patient_birth_date": None,
        "accession_number": "",
        "study_id": "",
        "study_description": "",
        "referring_physician_name": "",
    }


@dataclass(frozen=True)
class ShownStudy:
    """A study as a template shows it to a reader who receives it de-identified (the same
    names as ``ImagingStudy``'s, so the templates need no second shape)."""

    pk: int
    study_instance_uid: str
    patient_dicom_id: str
    patient_name: str
    patient_birth_date: dt.date | None
    patient_sex: str
    study_date: dt.date | None
    accession_number: str
    study_description: str
    modality_list: list[str]
    series_count: int
    instance_count: int
    patient: None = None
    deidentified: bool = True


def shown(study: ImagingStudy, replacements: StudyReplacements | None) -> Any:
    """The study itself when it goes out as stored, else its de-identified face."""
    if replacements is None:
        return study
    masked = masked_fields(study, replacements)
    return ShownStudy(
        pk=study.pk,
        study_instance_uid=masked["study_instance_uid"],
        patient_dicom_id=masked["patient_dicom_id"],
        patient_name=masked["patient_name"],
        patient_birth_date=None,
        patient_sex=study.patient_sex,
        study_date=study.study_date,
        accession_number="",
        study_description="",
        modality_list=study.modality_list,
        series_count=study.series_count,
        instance_count=study.instance_count,
    )
