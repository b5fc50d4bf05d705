from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import ConfigDict, Field


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class RequestIn(Strict):
    kind: str = Field(default="multidisciplinary", max_length=20)
    clinical_summary: str = Field(default="", max_length=20000)
    question: str = Field(default="", max_length=5000)
    urgency: str = Field(default="routine", max_length=10)
    wanted_specialty: str = Field(default="", max_length=40)
    wanted_expert_id: int | None = None
    wanted_start: dt.datetime | None = None
    disease: str = Field(default="", max_length=10)
    consent_confirmed: bool = False


class DraftIn(RequestIn):
    patient_id: int
    # Accepted only to be checked: a request cannot be made for another institution.
    requesting_institution: str | None = Field(default=None, max_length=32)


class EditIn(Strict):
    kind: str | None = Field(default=None, max_length=20)
    clinical_summary: str | None = Field(default=None, max_length=20000)
    question: str | None = Field(default=None, max_length=5000)
    urgency: str | None = Field(default=None, max_length=10)
    wanted_specialty: str | None = Field(default=None, max_length=40)
    wanted_expert_id: int | None = None
    wanted_start: dt.datetime | None = None
    disease: str | None = Field(default=None, max_length=10)
    consent_confirmed: bool | None = None


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class QualityCheckIn(Strict):
    accept: bool
    checklist: dict[str, bool] = Field(default_factory=dict)
    reasons: str = Field(default="", max_length=2000)


class TriageIn(Strict):
    expert_id: int
    department_id: int | None = None
    reason: str = Field(default="", max_length=2000)
    # True to move an assigned or scheduled case to another expert; a plain triage of a case
    # someone else has just assigned answers 409.
    reassign: bool = False


class ScheduleIn(Strict):
    start: dt.datetime
    end: dt.datetime | None = None
    room_id: int | None = None


class ConclusionIn(Strict):
    findings: str = Field(max_length=20000)
    diagnosis: str = Field(max_length=5000)
    icd10_codes: list[str] = Field(max_length=20)
    recommendations: str = Field(max_length=20000)


class AmendmentIn(ConclusionIn):
    amendment_reason: str = Field(max_length=2000)


class MessageIn(Strict):
    body: str = Field(max_length=5000)


class FeedbackIn(Strict):
    rating: int
    comment: str = Field(default="", max_length=2000)
    follow_up: str = Field(default="", max_length=2000)


class PersonOut(Schema):
    id: int
    username: str
    name: str


class ConclusionOut(Schema):
    version: int
    findings: str
    diagnosis: str
    icd10_codes: list[str]
    recommendations: str
    amendment_reason: str
    signed_by: PersonOut
    signed_at: dt.datetime
    text_sha256: str
    signature_holds: bool


class ConsultationOut(Schema):
    id: int
    number: str
    kind: str
    state: str
    urgency: str
    patient_id: int
    patient_name: str
    requesting_institution: str
    requested_by: PersonOut
    clinical_summary: str
    question: str
    wanted_specialty: str | None
    wanted_expert_id: int | None
    wanted_start: dt.datetime | None
    disease: str | None
    consent_confirmed: bool
    assigned_institution: str | None
    assigned_expert: PersonOut | None
    scheduled_start: dt.datetime | None
    scheduled_end: dt.datetime | None
    room: str | None
    submitted_at: dt.datetime | None
    first_response_at: dt.datetime | None
    concluded_at: dt.datetime | None
    allowed_actions: list[str]
    conclusion: ConclusionOut | None


class SummaryOut(Schema):
    id: int
    number: str
    kind: str
    state: str
    urgency: str
    patient_name: str
    requesting_institution: str
    assigned_expert: str | None
    scheduled_start: dt.datetime | None


class PageOut(Schema):
    total: int
    items: list[SummaryOut]


class EventOut(Schema):
    at: dt.datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    reason: str
    detail: dict[str, object]


class MessageOut(Schema):
    id: int
    author: PersonOut
    body: str
    at: dt.datetime


class SuggestionOut(Schema):
    expert: PersonOut
    institution: str
    department: str
    treats_disease: bool
    active_cases: int
    next_free: dt.datetime | None
