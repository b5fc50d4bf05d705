"""The notifications API: the caller's own notifications only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from telemed.accounts.models import User
from telemed.notifications import queries, services

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: str
    read: bool


class NotificationPage(Schema):
    unread: int
    total: int
    items: list[NotificationOut]


class ReadOut(Schema):
    id: int
    read: bool
    unread: int


class ReadAllOut(Schema):
    marked: int
    unread: int


class Paging(Schema):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


@router.get("/", response=NotificationPage, summary="My notifications, unread first")
def mine(request: HttpRequest, params: Query[Paging]) -> dict[str, Any]:
    user = _user(request)
    found = queries.mine(user)
    return {
        "unread": queries.unread_count(user),
        "total": found.count(),
        "items": [services.as_dict(n) for n in found[params.offset : params.offset + params.limit]],
    }


@router.post("/{int:notification_id}/read", response=ReadOut, summary="Mark one of mine read")
def read(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    user = _user(request)
    notification = services.mark_read(user, notification_id)
    return {"id": notification.pk, "read": True, "unread": queries.unread_count(user)}


@router.post("/read-all", response=ReadAllOut, summary="Mark all of mine read")
def read_all(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    marked = services.mark_all_read(user)
    return {"marked": marked, "unread": queries.unread_count(user)}
