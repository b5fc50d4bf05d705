"""Reads of notifications: always the person's own (a notification is addressed to one
person; nobody else reads it, administrators included)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext

from telemed.core.errors import NotFound
from telemed.notifications.models import Notification

if TYPE_CHECKING:
    from telemed.accounts.models import User


def mine(user: User) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each."""
    unread_first = Case(
        When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        Notification.objects.filter(recipient_id=user.pk)
        .annotate(unread_rank=unread_first)
        .order_by("unread_rank", "-created_at", "-pk")
    )


def unread_count(user: User) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def get(user: User, notification_id: int) -> Notification:
    found = Notification.objects.filter(recipient_id=user.pk, pk=notification_id).first()
    if found is None:
        raise NotFound(gettext("Notification not found"))
    return found
