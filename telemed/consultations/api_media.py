"""API routes for a case's files and video (the upload itself is a plain streaming view,
``POST /uploads/consultations/{id}/attachments``, because a JSON API would read the body)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from telemed.accounts.models import User
from telemed.consultations import attachments, queries, video
from telemed.consultations.api import person
from telemed.consultations.schemas import PersonOut
from telemed.consultations.views_media import attachment_json

router = Router(tags=["consultations"])


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: PersonOut
    uploaded_at: dt.datetime
    url: str


class VideoJoinOut(Schema):
    user: PersonOut
    at: dt.datetime


class VideoOut(Schema):
    configured: bool
    open: bool
    session_id: int | None
    opened_at: dt.datetime | None
    opened_by: PersonOut | None
    # Only in the answer to the person opening or joining: the room name is a capability.
    room: str | None = None
    join_url: str | None = None
    joins: list[VideoJoinOut]


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _video(session: Any, link: video.JoinLink | None = None) -> dict[str, Any]:
    return {
        "configured": video.configured(),
        "open": session is not None and session.closed_at is None,
        "session_id": session.pk if session else None,
        "opened_at": session.opened_at if session else None,
        "opened_by": person(session.opened_by) if session else None,
        "room": link.session.room_name if link else None,
        "join_url": link.url if link else None,
        "joins": [{"user": person(join.user), "at": join.at} for join in video.joins_of(session)]
        if session
        else [],
    }


@router.get(
    "/{int:consultation_id}/attachments",
    response=list[AttachmentOut],
    summary="The case's attachments (upload: POST /uploads/consultations/{id}/attachments)",
)
def list_attachments(request: HttpRequest, consultation_id: int) -> list[dict[str, Any]]:
    return [attachment_json(a) for a in attachments.listed(_user(request), consultation_id)]


@router.post(
    "/{int:consultation_id}/video",
    response={200: VideoOut, 201: VideoOut},
    summary="Open the case's video room (or take the open one) and get your join link; "
    "201 when this call opened it",
)
def open_video(request: HttpRequest, consultation_id: int) -> Status[dict[str, Any]]:
    link = video.join(_user(request), consultation_id, open_if_needed=True)
    return Status(201 if link.opened else 200, _video(link.session, link))


@router.get(
    "/{int:consultation_id}/video",
    response=VideoOut,
    summary="The case's video room: open or not, and who joined when",
)
def video_state(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    consultation = queries.get(_user(request), consultation_id)
    session = (
        video.current_session(consultation)
        or consultation.video_sessions.select_related("opened_by").order_by("-opened_at").first()
    )
    return _video(session)
