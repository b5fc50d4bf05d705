"""Telling people: ``notify`` writes one in-app notification per recipient in the caller's
transaction (so a notification exists exactly when its action does), and once that commits
pushes it to the recipient's open pages ("user-<id>" group) and, for urgent and emergency
matters, also sends email/SMS through the adapters.

Titles and texts are rendered in the platform's language (``settings.LANGUAGE_CODE``) when
written; they name the case by its number and never carry patient details.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count

from telemed.core import clock
from telemed.notifications import adapters, push
from telemed.notifications.consumers import user_group
from telemed.notifications.models import Notification
from telemed.notifications.queries import get, unread_count

if TYPE_CHECKING:
    from telemed.accounts.models import User

logger = logging.getLogger(__name__)

__all__ = ["mark_all_read", "mark_read", "notify", "unread_count"]


def _ids(recipients: Iterable[User | int | None]) -> list[int]:
    seen: dict[int, None] = {}
    for recipient in recipients:
        if recipient is None:
            continue
        pk = recipient if isinstance(recipient, int) else recipient.pk
        if pk is not None:
            seen[pk] = None
    return list(seen)


def notify(
    recipients: Iterable[User | int | None],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    *,
    urgency: str = "routine",
) -> list[Notification]:
    """Tell each recipient (users or user ids; duplicates and None dropped; inactive users
    skipped). Inside a transaction the notifications are written with it, so they exist
    exactly when the action does, and nothing is pushed or sent until it commits."""
    ids = _ids(recipients)
    if not ids:
        return []
    # No savepoint: inside an action the notifications live and die with it.
    with transaction.atomic(savepoint=False):
        return deliver(ids, kind, str(title), str(body), link, urgency=urgency)


def deliver(
    ids: list[int], kind: str, title: str, body: str, link: str, *, urgency: str = "routine"
) -> list[Notification]:
    """Write the notifications in the caller's transaction; push them to the recipients'
    open pages, and send urgent ones outside, once it commits."""
    from telemed.accounts.models import User

    recipients = list(User.objects.filter(pk__in=ids, is_active=True))
    if not recipients:
        return []
    moment = clock.now()
    title = title[:200]
    link = link[:300]
    created = Notification.objects.bulk_create(
        Notification(
            recipient=user, kind=kind, title=title, body=body, link=link, created_at=moment
        )
        for user in recipients
    )
    transaction.on_commit(lambda: _announce(recipients, created, urgency, title, body, link))
    return created


def _announce(
    recipients: list[User],
    created: list[Notification],
    urgency: str,
    title: str,
    body: str,
    link: str,
) -> None:
    counts = _unread_counts([user.pk for user in recipients])
    for notification in created:
        push.group_send(
            user_group(notification.recipient_id),
            {
                "type": "notification.created",
                "recipient_id": notification.recipient_id,
                "notification": as_dict(notification),
                "unread": counts.get(notification.recipient_id, 0),
            },
        )
    adapters.send_outside(recipients, urgency, title, body, link)


def as_dict(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def _unread_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Notification.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("pk"))
    )
    return {row["recipient_id"]: row["n"] for row in rows}


def _push_count(user: User) -> None:
    push.group_send(
        user_group(user.pk),
        {"type": "notification.read", "recipient_id": user.pk, "unread": unread_count(user)},
    )


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (404 for anyone else's)."""
    notification = get(user, notification_id)
    if notification.read_at is None:
        notification.read_at = clock.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
        transaction.on_commit(lambda: _push_count(user))
    return notification


def mark_all_read(user: User) -> int:
    marked = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(
        read_at=clock.now()
    )
    if marked:
        transaction.on_commit(lambda: _push_count(user))
    return marked
