"""API schemas of the pathology app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class SlideOut(Schema):
    id: int
    consultation_id: int
    name: str
    stain: str
    state: str
    failure_reason: str
    vendor: str
    width: int
    height: int
    level_count: int
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    has_label: bool
    has_macro: bool
    size: int
    sha256: str
    registered_at: dt.datetime
    dzi_url: str
    tiles_url: str
    thumbnail_url: str
    label_url: str | None
    macro_url: str | None
    # Signed, expiring, for this user and slide: lets its tiles skip the Django stack (also
    # in ``dzi_url``'s query, which DeepZoom clients pass on to every tile's URL).
    tile_token: str | None = None
    # A slide whose file is still at the sending hospital's edge gateway: whether that edge
    # is connected (tiles relayed) and how much of the file has arrived so far.
    at_edge: bool = False
    edge_online: bool = False
    received_bytes: int = 0
    upload_requested_at: dt.datetime | None = None


class EdgeSlideIn(Schema):
    """An edge gateway registers a slide it has read: the case by its number (the folder
    the technician dropped the file in), what OpenSlide read, its SHA-256, and a thumbnail."""

    case_number: str = Field(min_length=1, max_length=24)
    name: str = Field(min_length=1, max_length=200)
    stain: str = Field(default="", max_length=64)
    sha256: str = Field(min_length=64, max_length=64)
    entry: str = Field(default="", max_length=500)
    size: int = Field(gt=0)
    vendor: str = Field(max_length=32)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    level_count: int = Field(gt=0, le=64)
    mpp_x: float | None = Field(default=None, gt=0, le=1000)
    mpp_y: float | None = Field(default=None, gt=0, le=1000)
    objective_power: float | None = Field(default=None, gt=0, le=1000)
    has_label: bool = False
    has_macro: bool = False
    deepzoom_width: int = Field(gt=0)
    deepzoom_height: int = Field(gt=0)
    tile_version: str = Field(max_length=64)
    thumbnail_base64: str = Field(max_length=1_500_000)


class UploadNowOut(Schema):
    told: bool
    message: str


class AnnotationIn(Schema):
    kind: str = Field(max_length=12)
    points: list[Any] = Field(max_length=2000)
    label: str = Field(default="", max_length=200)


class AnnotationOut(Schema):
    id: int
    slide_id: int
    kind: str
    points: list[list[float]]
    label: str
    author_id: int
    author: str
    mine: bool
    created_at: dt.datetime
    measurements: dict[str, float]


class KeyImageIn(Schema):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    caption: str = Field(default="", max_length=200)


class KeyImageOut(Schema):
    id: int
    slide_id: int
    x: int
    y: int
    width: int
    height: int
    caption: str
    created_at: dt.datetime
    url: str


class StainIn(Schema):
    marker: str = Field(max_length=120)
    result: str = Field(max_length=120)
    note: str = Field(default="", max_length=120)


class ReportIn(Schema):
    gross: str = Field(default="", max_length=20000)
    microscopic: str = Field(max_length=20000)
    diagnosis: str = Field(max_length=5000)
    icd10_codes: list[str] = Field(max_length=20)
    recommendations: str = Field(max_length=5000)
    immunohistochemistry: list[StainIn] = Field(default_factory=list, max_length=60)
    key_image_ids: list[int] = Field(default_factory=list, max_length=12)


class ReportOut(ReportIn):
    version: int
    signed_at: dt.datetime
    signed_by: str
    sha256: str
    pdf_url: str
