"""Scoped reads of the exchange hub's patient data: the HL7 message log and the outbox.

A member system's rows are visible to whoever sees its institution's patients (its own
staff, its region's managers, supervisors and administrators, the province centre)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from telemed.exchange.models import DeliveryAttempt, InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from telemed.accounts.models import User


def message_log(user: User | None) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.visible_to(user).select_related("member_system")


def outbox(user: User | None) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.visible_to(user).select_related("subscription__member_system")


def delivery_log(user: User | None) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.visible_to(user)
