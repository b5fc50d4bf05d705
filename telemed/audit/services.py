"""Writing and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from telemed.audit.models import GENESIS_HASH, Action, AuditChainHead, AuditEvent, Outcome
from telemed.core import clock, context

if TYPE_CHECKING:
    from telemed.accounts.models import User


# Events recorded inside ``appended_together`` wait here until the block ends.
_pending: ContextVar[list[AuditEvent] | None] = ContextVar("telemed_audit_pending", default=None)


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
    sequence numbers. On SQLite the IMMEDIATE transaction mode gives the same order. Inside
    ``appended_together`` the event is appended when that block ends.
    """
    meta = context.current()
    authenticated = actor is not None and actor.is_authenticated
    institution = actor.institution if authenticated and actor is not None else None
    event = AuditEvent(
        at=clock.now(),
        actor_id=actor.pk if authenticated and actor is not None else None,
        actor=(actor.get_username() if authenticated and actor is not None else actor_name)[:150],
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
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
        return event
    # No savepoint: inside an action's transaction the event lives and dies with the action,
    # and outside one this is the transaction.
    with transaction.atomic(savepoint=False):
        _append([event])
    return event


@contextmanager
def appended_together() -> Iterator[None]:
    """Collect the events recorded in the block and append them to the chain together when
    it ends. Call inside the action's transaction: the chain head, one lock for the whole
    platform, is then held from the end of the action to its commit instead of from the
    action's first event, and the events cost one insert. A block left by an exception
    drops its events with the action's rollback. Nested blocks append with the outermost."""
    if _pending.get() is not None:
        yield
        return
    token = _pending.set([])
    try:
        yield
        events = _pending.get() or []
    finally:
        _pending.reset(token)
    if events:
        _append(events)


def _append(events: list[AuditEvent]) -> None:
    """Chain and insert the events, in order, under the head's row lock."""
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    for event in events:
        head.seq += 1
        event.seq, event.prev_hash = head.seq, head.hash
        event.hash = event.compute_hash()
        head.hash = event.hash
    AuditEvent.objects.bulk_create(events)
    head.save(update_fields=["seq", "hash"])


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
