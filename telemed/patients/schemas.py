from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field


class RegistrationOut(Schema):
    institution: str
    institution_name: str
    record_number: str


class PatientOut(Schema):
    id: int
    mpi_id: UUID
    name: str
    name_pinyin: str
    sex: str
    birth_date: dt.date
    resident_id: str | None
    phone: str
    address: str
    registrations: list[RegistrationOut]
    consents: dict[str, bool | None]


class PatientSummary(Schema):
    id: int
    name: str
    sex: str
    birth_date: dt.date


class PatientPage(Schema):
    total: int
    items: list[PatientSummary]


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    sex: str = Field(max_length=10)
    birth_date: dt.date
    record_number: str = Field(min_length=1, max_length=40)
    resident_id: str | None = Field(default=None, max_length=18)
    name_pinyin: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=30)
    address: str = Field(default="", max_length=300)
    consent_telemedicine: bool | None = None
    consent_share_external: bool | None = None
    confirm_new: bool = False
    # Accepted only to be checked: a body naming another institution is refused and audited.
    institution: str | None = Field(default=None, max_length=32)


class PatientPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    name_pinyin: str | None = Field(default=None, max_length=120)
    sex: str | None = Field(default=None, max_length=10)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    institution: str | None = Field(default=None, max_length=32)


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=20)
    granted: bool
    note: str = Field(default="", max_length=300)
