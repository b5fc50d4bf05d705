"""Scoped reads of the exchange hub's patient data: the HL7 message log and the outbox.

A member system's rows are visible to whoever sees its institution's patients (its own
staff, its region's managers, supervisors and administrators, the province centre). The
operator pages read through the audited functions here: listing the outbox is a search,
opening one message (its payload is patient data) a read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from telemed.accounts.scoping import scope_for
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Consultation
from telemed.core.errors import NotFound
from telemed.exchange.models import (
    DeliveryAttempt,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    UnmappedCode,
)

if TYPE_CHECKING:
    from telemed.accounts.models import User


def message_log(user: User | None) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.visible_to(user).select_related("member_system")


def outbox(user: User | None) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.visible_to(user).select_related("subscription__member_system")


def delivery_log(user: User | None) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.visible_to(user)


def search_outbox(user: User, state: str = "") -> QuerySet[OutboundMessage]:
    """The outbox in the user's scope, newest first, optionally of one state (audited)."""
    found = outbox(user).select_related("subscription__member_system__institution")
    if state in DeliveryState.values:
        found = found.filter(state=state)
    audit.record(user, Action.SEARCH, object_type="outbound_message", detail={"state": state})
    return found.order_by("-created_at", "-pk")


def outbound_message(user: User, message_id: int) -> OutboundMessage:
    """One outbound message in the user's scope, with its delivery log (audited: the
    payload is the patient's report); NotFound and a denied event otherwise."""
    message = (
        outbox(user)
        .select_related("subscription__member_system__institution")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        audit.denied(
            user,
            Action.READ,
            object_type="outbound_message",
            object_id=message_id,
            reason="not in scope",
        )
        raise NotFound(_("No such outbound message"))
    patient_id = (
        Consultation.objects.visible_to(user)
        .filter(pk=message.consultation_id)
        .values_list("patient_id", flat=True)
        .first()
    )
    audit.record(
        user,
        Action.READ,
        object_type="outbound_message",
        object_id=message.pk,
        patient_id=patient_id,
    )
    return message


def code_queue(user: User) -> QuerySet[UnmappedCode]:
    """Codes waiting for an operator, of the institutions in the user's scope, the most
    often seen first."""
    scope = scope_for(user)
    queue = UnmappedCode.objects.filter(resolved_at__isnull=True).select_related("institution")
    if not scope.everything:
        queue = queue.filter(institution_id__in=scope.institution_ids)
    return queue.order_by("-times_seen", "-last_seen", "pk")
