"""API schemas of the ecg app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class EcgPersonOut(Schema):
    id: int
    name: str


class EcgCaseRowOut(Schema):
    """One worklist row: no patient name, enough to choose what to read first."""

    id: int
    number: str
    state: str
    state_label: str
    urgency: str
    critical: bool
    submitted_at: dt.datetime | None
    requesting_institution: str
    patient_sex: str
    patient_age: int | None
    rhythm: str
    rhythm_label: str
    heart_rate: float | None
    flags: list[str]
    flag_labels: list[str]
    claimed_by: EcgPersonOut | None
    url: str


class EcgReportOut(Schema):
    version: int
    findings: str
    diagnosis: str
    icd10_codes: list[str]
    recommendations: str
    phrases: list[str]
    measurements: dict[str, float | None]
    signed_by: EcgPersonOut
    signed_at: dt.datetime
    text_sha256: str
    pdf_url: str


class EcgCaseOut(EcgCaseRowOut):
    patient_id: int
    source_format: str
    sampling_rate: float
    leads: list[str]
    n_samples: int
    duration_s: float
    analysis: dict[str, Any]
    measurements: dict[str, float | None]
    suggested_phrases: list[str]
    actions: list[str]
    samples_url: str
    report: EcgReportOut | None


class EcgReleaseIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class EcgReportIn(Strict):
    phrases: list[str] = Field(default_factory=list, max_length=40)
    measurements: dict[str, float | None] = Field(default_factory=dict)
    findings: str = Field(default="", max_length=5000)
    diagnosis: str = Field(default="", max_length=2000)
    icd10_codes: list[str] = Field(default_factory=list, max_length=20)
    recommendations: str = Field(default="", max_length=2000)


class EcgReleaseOut(Schema):
    id: int
    state: str
