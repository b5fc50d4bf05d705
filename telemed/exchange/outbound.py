"""Outbound delivery of signed conclusions: the outbox, retries and the delivery log (the
transports are in ``transports``).

At least once, never silently lost:

1. ``consultation.changed`` (a case concluded or amended), heard inside the signing
   transaction, writes one outbox row per active subscription of the requesting
   institution, keyed by (subscription, conclusion), so writing it twice is harmless: the
   row exists exactly when the conclusion does. The payload is built then and never
   changes. ``enqueue_missed`` (run by every delivery turn) is the safety net for a
   conclusion without its row (its payload failed to build, or it was signed where the
   exchange app did not run) and writes it.
2. ``deliver_due`` leases due rows, sends each outside any transaction, and records the
   attempt in the delivery log: delivered, or retried with exponential back-off
   (``DELIVERY_RETRY_SECONDS`` doubled per failure up to ``DELIVERY_RETRY_CAP_SECONDS``),
   or after ``DELIVERY_MAX_ATTEMPTS`` moved to the dead-letter list, from which an operator
   sends it again (``retry``).
3. Every attempt carries the row's idempotency key (HTTP ``Idempotency-Key``, MSH-10). A
   runner that dies after sending but before recording leaves a lapsed lease; the next
   runner sends again with the same key, and the receiver drops the repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from telemed.accounts.models import Role, User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Conclusion
from telemed.core import clock
from telemed.core.errors import PermissionDenied, ValidationFailed
from telemed.exchange import oru, payloads
from telemed.exchange.models import (
    DeliveryAttempt,
    DeliveryState,
    OutboundMessage,
    Subscription,
    Transport,
)
from telemed.exchange.transports import MAX_RESPONSE, DeliveryFailed, Sent, send
from telemed.patients.models import PatientRegistration

logger = logging.getLogger(__name__)

SIGNING_ACTIONS = frozenset({"conclude", "amend"})
LEASE = dt.timedelta(seconds=60)
MISSED_WINDOW = dt.timedelta(days=7)
# A turn stops sending after this long (the job runner runs jobs one after another).
TURN_SECONDS = 30.0


# -- writing the outbox ------------------------------------------------------------------


def on_consultation_changed(payload: dict[str, Any]) -> None:
    """Subscriber of ``consultation.changed``: a signed conclusion goes to the outbox."""
    if payload.get("action") not in SIGNING_ACTIONS:
        return
    conclusion = (
        Conclusion.objects.unscoped("outbound delivery: the newest signed conclusion")
        .filter(consultation_id=payload["id"])
        .order_by("-version")
        .first()
    )
    if conclusion is not None:
        enqueue(conclusion)


def _subscriptions_for(institution_id: int) -> list[Subscription]:
    return list(
        Subscription.objects.select_related(
            "member_system__institution", "member_system__service_user"
        ).filter(
            active=True,
            member_system__active=True,
            member_system__institution_id=institution_id,
        )
    )


def enqueue(conclusion: Conclusion) -> list[OutboundMessage]:
    """Write the outbox rows for a conclusion (once per subscription; repeats are no-ops)."""
    institution_id = conclusion.consultation.requesting_institution_id
    written = []
    for subscription in _subscriptions_for(institution_id):
        row = _enqueue_one(subscription, conclusion.pk)
        if row is not None:
            written.append(row)
    return written


def _enqueue_one(subscription: Subscription, conclusion_id: int) -> OutboundMessage | None:
    key = f"conclusion:{conclusion_id}"
    if (
        OutboundMessage.objects.unscoped("outbox idempotency")
        .filter(subscription=subscription, event_key=key)
        .exists()
    ):
        return None
    # Read as the subscriber's own system user: a system is only ever sent what its
    # institution may see.
    reader = subscription.member_system.service_user
    conclusion = (
        Conclusion.objects.visible_to(reader)
        .select_related("consultation__patient", "signed_by__institution", "consultation")
        .filter(pk=conclusion_id)
        .first()
    )
    if conclusion is None:
        logger.warning("subscription %s cannot see conclusion %s", subscription.pk, conclusion_id)
        return None
    row = OutboundMessage(
        subscription=subscription,
        event_key=key,
        consultation_id=conclusion.consultation_id,
        conclusion_id=conclusion.pk,
    )
    try:
        row.payload, row.content_type = _payload(subscription, conclusion, str(row.idempotency_key))
    except DatabaseError:
        raise
    except Exception:
        # Inside the signing transaction a mapping bug must not stop the expert signing;
        # the row is written by a later delivery turn once the bug is fixed.
        logger.exception("outbound payload for conclusion %s failed", conclusion.pk)
        return None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            audit.record(
                None,
                Action.EXPORT,
                object_type="outbound_message",
                object_id=row.idempotency_key,
                patient_id=conclusion.consultation.patient_id,
                detail={"subscription": subscription.pk, "event": key},
                actor_name="exchange",
            )
    except IntegrityError:
        return None  # written concurrently by another runner
    return row


def _payload(subscription: Subscription, conclusion: Conclusion, key: str) -> tuple[str, str]:
    if subscription.transport == Transport.REST_HOOK:
        reader = subscription.member_system.service_user
        return payloads.rest_hook(reader, conclusion, key), payloads.CONTENT_TYPE
    record_number = (
        PatientRegistration.objects.visible_to(subscription.member_system.service_user)
        .filter(
            patient_id=conclusion.consultation.patient_id,
            institution_id=subscription.member_system.institution_id,
        )
        .values_list("record_number", flat=True)
        .first()
    )
    return oru.build(conclusion, subscription, key, record_number or ""), "x-application/hl7-v2"


def enqueue_missed(limit: int = 200) -> int:
    """Outbox rows for conclusions signed (within the last week, after the subscription
    began) that have none: the safety net for a crash between a commit and its event."""
    written = 0
    since = clock.now() - MISSED_WINDOW
    for subscription in Subscription.objects.select_related(
        "member_system__institution", "member_system__service_user"
    ).filter(active=True, member_system__active=True):
        done = (
            OutboundMessage.objects.unscoped("outbox catch-up")
            .filter(subscription=subscription)
            .values("conclusion_id")
        )
        missing = (
            Conclusion.objects.unscoped("outbox catch-up: conclusions without their row")
            .filter(
                consultation__requesting_institution_id=subscription.member_system.institution_id,
                signed_at__gte=max(since, subscription.created_at),
            )
            .exclude(pk__in=done)
            .values_list("pk", flat=True)[:limit]
        )
        for conclusion_id in list(missing):
            if _enqueue_one(subscription, conclusion_id) is not None:
                written += 1
    return written


# -- the delivery turn --------------------------------------------------------------------


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: doubling, capped."""
    seconds = settings.DELIVERY_RETRY_SECONDS * 2 ** min(attempts - 1, 30)
    return dt.timedelta(seconds=min(seconds, settings.DELIVERY_RETRY_CAP_SECONDS))


def lease_due(limit: int = 50) -> list[OutboundMessage]:
    """Take up to ``limit`` due rows for this runner (a lease of ``LEASE``)."""
    moment = clock.now()
    with transaction.atomic():
        due = (
            OutboundMessage.objects.unscoped("the delivery runner")
            .filter(state=DeliveryState.PENDING, next_attempt_at__lte=moment)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=moment))
            .order_by("next_attempt_at", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:limit])
        OutboundMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
            leased_until=moment + LEASE
        )
    return rows


def record(message: OutboundMessage, *, sent: Sent | None, failure: DeliveryFailed | None) -> None:
    """Write the attempt's outcome (the delivery log row and the new state)."""
    moment = clock.now()
    with transaction.atomic():
        row = (
            OutboundMessage.objects.unscoped("the delivery runner")
            .select_for_update()
            .get(pk=message.pk)
        )
        if row.state != DeliveryState.PENDING:
            return
        row.attempts += 1
        DeliveryAttempt.objects.create(
            message=row,
            number=row.log.count() + 1,
            at=moment,
            succeeded=sent is not None,
            status=(sent.status if sent else failure.status if failure else "")[:40],
            response=(sent.response if sent else failure.response if failure else "")[
                :MAX_RESPONSE
            ],
        )
        row.leased_until = None
        if sent is not None:
            row.state, row.delivered_at, row.last_error = DeliveryState.DELIVERED, moment, ""
        else:
            assert failure is not None
            row.last_error = f"{failure.status}: {failure.response}"[:MAX_RESPONSE]
            if row.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
                row.state = DeliveryState.DEAD
                logger.warning("outbound %s dead after %d attempts", row.pk, row.attempts)
            else:
                row.next_attempt_at = moment + backoff(row.attempts)
        row.save()


def deliver(message: OutboundMessage) -> bool:
    """One attempt at one leased row, recorded; True when delivered."""
    try:
        sent = send(message)
    except DeliveryFailed as failure:
        record(message, sent=None, failure=failure)
        return False
    except ValidationFailed as problem:
        record(message, sent=None, failure=DeliveryFailed("misconfigured", problem.message))
        return False
    record(message, sent=sent, failure=None)
    return True


def deliver_due(limit: int = 50, budget_seconds: float = TURN_SECONDS) -> dict[str, int]:
    """One delivery turn (the periodic job, and ``telemed deliver``).

    Bounded: at most ``limit`` rows and about ``budget_seconds``. After a subscription's
    first failure in a turn its other rows wait for the next turn (unattempted, so they do
    not spend attempts), so one endpoint that is down or slow cannot hold up the others;
    rows left over are released for the next turn."""
    counts = {"enqueued": enqueue_missed(), "delivered": 0, "failed": 0}
    deadline = time.monotonic() + budget_seconds
    failing: set[int] = set()
    unsent: list[int] = []
    for message in lease_due(limit):
        if message.subscription_id in failing or time.monotonic() > deadline:
            unsent.append(message.pk)
            continue
        if deliver(message):
            counts["delivered"] += 1
        else:
            counts["failed"] += 1
            failing.add(message.subscription_id)
    if unsent:
        OutboundMessage.objects.filter(pk__in=unsent).update(leased_until=None)
    return counts


def retry(actor: User, message_ids: Iterable[int]) -> int:
    """Send dead letters (or failing rows) again now, with a fresh round of attempts (an
    operator's action: administrators only); rows outside the actor's scope, or delivered
    already, are left alone. Returns how many were retried."""
    if actor.role != Role.ADMINISTRATOR and not actor.is_superuser:
        audit.denied(
            actor, Action.ADMIN, object_type="outbound_message", reason="role cannot retry"
        )
        raise PermissionDenied(_("Only an administrator retries deliveries"))
    ids = list(message_ids)
    with transaction.atomic():
        rows = OutboundMessage.objects.visible_to(actor).filter(
            pk__in=ids, state__in=[DeliveryState.DEAD, DeliveryState.PENDING]
        )
        chosen = list(rows.values_list("pk", flat=True))
        OutboundMessage.objects.filter(pk__in=chosen).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=clock.now(), leased_until=None
        )
        for pk in chosen:
            audit.record(
                actor,
                Action.ADMIN,
                object_type="outbound_message",
                object_id=pk,
                detail={"retry": True},
            )
    return len(chosen)
