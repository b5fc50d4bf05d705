"""Writing and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from telemed.audit.models import GENESIS_HASH, Action, AuditChainHead, AuditEvent, Outcome
from telemed.core import clock, context

if TYPE_CHECKING:
    from telemed.accounts.models import User


def record(
    actor: User | None,
    action: Action | str,
    *,
    object_type: str = "",
    object_id: object = "",
    patient_id: int | None = None,
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEvent:
    """Append one event to the chain.

    Runs in its own transaction (nested in the caller's when there is one): the chain head
    row is locked so that concurrent writers append one after another with consecutive
    sequence numbers. On SQLite the IMMEDIATE transaction mode gives the same order.
    """
    meta = context.current()
    authenticated = actor is not None and actor.is_authenticated
    institution = actor.institution if authenticated and actor is not None else None
    # No savepoint: inside an action's transaction the event lives and dies with the action,
    # and outside one this is the transaction.
    with transaction.atomic(savepoint=False):
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            at=clock.now(),
            actor_id=actor.pk if authenticated and actor is not None else None,
            actor=(actor.get_username() if authenticated and actor is not None else actor_name)[
                :150
            ],
            role=(actor.role if authenticated and actor is not None else ""),
            institution=institution.code if institution is not None else "",
            action=str(action),
            object_type=object_type,
            object_id=str(object_id)[:80],
            patient_id=patient_id,
            outcome=str(outcome),
            source_ip=meta.source_ip[:45],
            channel=meta.channel,
            detail=detail or {},
            prev_hash=head.hash,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


def denied(
    actor: User | None,
    action: Action | str,
    *,
    object_type: str,
    object_id: object = "",
    reason: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    return record(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        outcome=Outcome.DENIED,
        detail={"reason": reason, **(detail or {})},
    )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify_chain(batch: int = 2000) -> Iterator[ChainProblem]:
    """Walk the chain in order and yield every break: a changed event, a missing or extra
    sequence number, or a head that does not match the last event."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    last_seq = 0
    start = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=start).order_by("seq")[:batch])
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                yield ChainProblem(
                    expected_seq, f"events {expected_seq}..{event.seq - 1} are missing"
                )
            if event.prev_hash != expected_prev:
                yield ChainProblem(event.seq, "does not link to the previous event")
            if event.compute_hash() != event.hash:
                yield ChainProblem(event.seq, "content does not match its hash (edited)")
            expected_prev = event.hash
            expected_seq = event.seq + 1
            last_seq = event.seq
        start = rows[-1].seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        yield ChainProblem(
            head.seq, f"chain head is at {head.seq} but the last event is {last_seq} (tail deleted)"
        )
