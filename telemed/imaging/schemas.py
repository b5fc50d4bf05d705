from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class SeriesOut(Schema):
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part_examined: str
    instance_count: int


class StudySummary(Schema):
    id: int
    study_instance_uid: str
    patient_id: int | None = Field(description="The MPI patient, once linked")
    patient_dicom_id: str
    patient_name: str
    patient_birth_date: dt.date | None
    patient_sex: str
    study_date: dt.date | None
    accession_number: str
    study_description: str
    modalities: list[str]
    series_count: int
    instance_count: int
    institution: str
    received_at: dt.datetime


class StudyOut(StudySummary):
    series: list[SeriesOut]


class StudyPage(Schema):
    total: int
    items: list[StudySummary]


class AttachIn(Schema):
    study_id: int


class ImagingRequestIn(Schema):
    modality: str = Field(default="", max_length=16, description="DICOM modality, e.g. CT")
    body_part: str = Field(default="", max_length=16, description="DICOM body part, e.g. CHEST")


class ImagingRequestOut(Schema):
    modality: str
    body_part: str
