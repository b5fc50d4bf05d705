"""Receiving one HL7 v2 message: find the sender, deduplicate, process, acknowledge.

``receive(raw)`` is what the MLLP listener calls (in a worker thread) for each frame; it
returns the ACK to send. The ACK is built only after the transaction that processed the
message has committed, so an AA is a promise that the change is durable:

- AA: processed and committed;
- AE: understood but refused (a validation error, a look-alike patient needing
  confirmation, an unknown record number); ERR names the problem; nothing else changed;
- AR: cannot be processed (no MSH, bad delimiters, undecodable text, an unknown sender, a
  message type the hub does not take); nothing changed.

Every message with a readable header is kept in the log (``InboundMessage``) with its
outcome and ACK. A message re-sent with the same sending application and control ID is
answered with the stored ACK and not processed again, except after an AR (it was not
processed, so a corrected resend is). Frames without a usable header are only logged.

Messages on different connections are processed concurrently. A race between two of them
(the same control ID twice, or two first messages about one new record number) ends in a
unique-constraint failure or a conflict for the loser, which is processed again from the
start and then sees the winner's committed work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core import context
from telemed.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from telemed.exchange import hl7v2
from telemed.exchange.models import InboundMessage, MemberSystem, Outcome

logger = logging.getLogger(__name__)

# Concurrent first messages about one new patient can collide on a unique constraint; the
# loser is processed again, and then finds the winner's record.
RETRIES_ON_RACE = 3


class Rejected(Exception):
    """Processing cannot start (AR): the hub does not take this message from this sender."""

    def __init__(self, reason: str, code: str = hl7v2.UNSUPPORTED_MESSAGE_TYPE) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass
class Processed:
    """What a handler did, for the log."""

    patient_id: int | None = None
    consultation_id: int | None = None
    placer_number: str = ""


Handler = Callable[[MemberSystem, hl7v2.Header, hl7v2.Message], Processed]
_handlers: dict[str, Handler] = {}


def handles(*message_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``CODE^EVENT`` message types (e.g. ``ADT^A01``)."""

    def decorate(handler: Handler) -> Handler:
        for message_type in message_types:
            _handlers[message_type] = handler
        return handler

    return decorate


def supported_types() -> list[str]:
    return sorted(_handlers)


def receive(raw: bytes) -> bytes:
    """Process one message (the bytes between the MLLP start and end blocks) and return
    the encoded ACK. Call it outside any transaction: an AA promises a commit. Raises only
    ``DatabaseError`` when the database itself fails; the caller then drops the connection
    without an ACK, so the sender sends again."""
    header, refusal = _screen(raw)
    if refusal is not None:
        return refusal
    assert header is not None
    for attempt in range(RETRIES_ON_RACE):
        last = attempt == RETRIES_ON_RACE - 1
        try:
            # A conflict is retried once: a refusal that is no race costs one extra try.
            return _encode(_receive_once(raw, header, retry_conflicts=attempt == 0), header)
        except (IntegrityError, _Retry):
            if last:
                raise
            logger.info("retrying %s after a concurrent write", header.control_id)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Arrival:
    """A message as it arrived, with who sent it (for the audit trail of its processing)."""

    raw: bytes
    meta: context.RequestMeta


def receive_together(arrivals: list[Arrival]) -> list[bytes | None]:
    """Process messages that arrived together (on different connections) in one
    transaction, and return their ACKs, in order, once it has committed; None for a message
    the database failed on (no ACK: its sender sends again).

    Group commit: one commit, one look-up of the log and of each sender, one insert of the
    log rows and one append to the audit chain for all of them, instead of one each. Each
    ACK still promises that its message is durable, since none is returned before the
    commit. The batch is optimistic: when any message in it is refused (AE), races with a
    concurrent write or meets a database error, the whole transaction is rolled back and
    each message is processed again on its own by ``receive``, which handles all of those.
    """
    answers: list[bytes | None] = [None] * len(arrivals)
    together: list[tuple[int, Arrival, hl7v2.Header]] = []
    for index, arrival in enumerate(arrivals):
        with _sent_by(arrival):
            header, refusal = _screen(arrival.raw)
        if refusal is not None:
            answers[index] = refusal
        else:
            assert header is not None
            together.append((index, arrival, header))
    if len(together) > 1:
        try:
            for index, ack in _receive_all(together).items():
                answers[index] = ack
            return answers
        except (_Refused, IntegrityError, DatabaseError):
            logger.info("a message of %d refused or in a race: each on its own", len(together))
    for index, arrival, _header in together:
        with _sent_by(arrival):
            try:
                answers[index] = receive(arrival.raw)
            except DatabaseError:
                logger.exception("database failed on an HL7 message; no ACK")
    return answers


@contextmanager
def _sent_by(arrival: Arrival) -> Iterator[None]:
    token = context.set_current(arrival.meta)
    try:
        yield
    finally:
        context.reset(token)


def _receive_all(together: list[tuple[int, Arrival, hl7v2.Header]]) -> dict[int, bytes]:
    """The batch's one transaction (see ``receive_together``); raises _Refused when a
    message is refused, which undoes the whole batch."""
    answers: dict[int, bytes] = {}
    senders: dict[tuple[str, str], MemberSystem | None] = {}
    # Log rows of messages new to the hub, inserted together at the end; a concurrent
    # duplicate on another connection then fails the batch on the unique constraint.
    fresh: dict[tuple[str, str], InboundMessage] = {}
    with transaction.atomic(), audit.appended_together():
        seen = _logged_many([header for _index, _arrival, header in together])
        for index, arrival, header in together:
            with _sent_by(arrival):
                text, message, problem = _read(arrival.raw, header)
                key = (header.sending_application, header.control_id)
                log = fresh.get(key) or seen.get(key)
                if log is not None and log.outcome != Outcome.REJECTED:
                    answers[index] = _encode(
                        _again(log, header, text, save=log.pk is not None), header
                    )
                    continue
                where = (header.sending_application, header.sending_facility)
                if where not in senders:
                    senders[where] = _sender(header)
                system = senders[where]
                result = _outcome(system, header, message, problem)
                log = _logged_as(log, header, text, system, result)
                if log.pk is None:
                    fresh[key] = log
                else:
                    log.save()
                answers[index] = _encode(log.ack, header)
        InboundMessage.objects.bulk_create(fresh.values())
    return answers


def _screen(raw: bytes) -> tuple[hl7v2.Header | None, bytes | None]:
    """The header, or the AR for a message without a usable one (only logged)."""
    try:
        header = hl7v2.read_header(raw)
    except hl7v2.Unprocessable as exc:
        logger.warning("MLLP frame without a usable header: %s", exc.reason)
        ack = hl7v2.acknowledgment(
            None,
            Outcome.REJECTED,
            control_id=new_control_id(),
            error=exc.reason,
            error_code=exc.code,
        )
        return None, _encode(ack, None)
    if not header.control_id or not header.sending_application:
        reason = _("MSH-10 (control ID) and MSH-3 (sending application) are required")
    elif (
        len(header.control_id) > 199
        or len(header.sending_application) > 180
        or len(header.sending_facility) > 180
    ):
        reason = _("MSH-3, MSH-4 or MSH-10 is too long")
    else:
        return header, None
    ack = hl7v2.acknowledgment(
        header,
        Outcome.REJECTED,
        control_id=new_control_id(),
        error=reason,
        error_code=hl7v2.REQUIRED_FIELD_MISSING,
    )
    return header, _encode(ack, header)


@dataclass
class _Result:
    outcome: str
    error: str = ""
    code: str = ""
    done: Processed | None = None


class _Refused(Exception):
    """Raised inside the processing transaction to undo the handler's writes; the refusal
    is then logged in a transaction of its own."""

    def __init__(self, result: _Result, *, conflict: bool = False) -> None:
        super().__init__(result.error)
        self.result = result
        self.conflict = conflict


class _Retry(Exception):
    """A conflict that a concurrent message about the same record can cause: try again."""


def _receive_once(raw: bytes, header: hl7v2.Header, *, retry_conflicts: bool) -> str:
    text, message, problem = _read(raw, header)
    try:
        # The audit chain's head (one lock for the platform) is taken at the end, just
        # before the commit, rather than at the handler's first event.
        with transaction.atomic(), audit.appended_together():
            log = _logged(header)
            if log is not None and log.outcome != Outcome.REJECTED:
                return _again(log, header, text)
            system = _sender(header)
            try:
                result = _outcome(system, header, message, problem)
            except _Refused as refused:
                # Two first messages about one new record number on two connections at
                # once: the loser's registration conflicts with the winner's (or the
                # winner's record looks like a duplicate); on its second try it finds the
                # winner's record and updates it.
                if retry_conflicts and refused.conflict:
                    raise _Retry() from None
                raise
            # The log row is written last: a concurrent duplicate that got this far too
            # fails on the unique constraint and, on its retry, answers with this ACK.
            return _store(log, header, text, system, result).ack
    except _Refused as refused:
        with transaction.atomic():
            log = _logged(header)
            if log is not None and log.outcome != Outcome.REJECTED:
                return _again(log, header, text)
            system = _sender(header)
            if system is not None and refused.result.outcome == Outcome.ERROR:
                audit.denied(
                    system.service_user,
                    Action.UPDATE,
                    object_type="hl7_message",
                    object_id=f"{header.sending_application}:{header.control_id}"[:80],
                    reason=refused.result.error[:200],
                )
            return _store(log, header, text, system, refused.result).ack


def _read(
    raw: bytes, header: hl7v2.Header
) -> tuple[str, hl7v2.Message | None, hl7v2.Unprocessable | None]:
    try:
        text = hl7v2.decode(raw, header)
        return text, hl7v2.parse(text), None
    except hl7v2.Unprocessable as exc:
        return raw.decode("utf-8", "replace").replace("\x00", "\ufffd"), None, exc


def _logged(header: hl7v2.Header) -> InboundMessage | None:
    """The log row of this (sender, control ID), locked, if the message was seen before."""
    return (
        InboundMessage.objects.unscoped("deduplicating by sender and control ID")
        .select_for_update()
        .filter(sending_application=header.sending_application, control_id=header.control_id)
        .first()
    )


def _logged_many(headers: list[hl7v2.Header]) -> dict[tuple[str, str], InboundMessage]:
    """``_logged`` for a batch, in one query."""
    wanted = Q(pk__in=[])
    for header in headers:
        wanted |= Q(sending_application=header.sending_application, control_id=header.control_id)
    rows = (
        InboundMessage.objects.unscoped("deduplicating by sender and control ID")
        .select_for_update()
        .filter(wanted)
    )
    return {(row.sending_application, row.control_id): row for row in rows}


def _again(log: InboundMessage, header: hl7v2.Header, text: str, *, save: bool = True) -> str:
    """A resend of a processed message: counted, answered with the stored ACK (``save``:
    the row is in the database already)."""
    if text != log.raw:
        logger.warning(
            "%s resent control ID %s with different content; the first is kept",
            header.sending_application,
            header.control_id,
        )
    log.times_received += 1  # the row is locked: no concurrent increment is lost
    if save:
        log.save(update_fields=["times_received"])
    return log.ack


def _sender(header: hl7v2.Header) -> MemberSystem | None:
    return (
        # The service user's institution too: its scope is computed from it.
        MemberSystem.objects.select_related("service_user__institution", "institution")
        .filter(
            sending_application=header.sending_application,
            sending_facility=header.sending_facility,
            active=True,
        )
        .first()
    )


def _store(
    log: InboundMessage | None,
    header: hl7v2.Header,
    text: str,
    system: MemberSystem | None,
    result: _Result,
) -> InboundMessage:
    log = _logged_as(log, header, text, system, result)
    log.save()
    return log


def _logged_as(
    log: InboundMessage | None,
    header: hl7v2.Header,
    text: str,
    system: MemberSystem | None,
    result: _Result,
) -> InboundMessage:
    """The log row (new, or the earlier one of a resend after AR) with this outcome and
    its ACK, not yet saved."""
    ack = hl7v2.acknowledgment(
        header,
        result.outcome,
        control_id=new_control_id(),
        error=result.error,
        error_code=result.code,
    )
    if log is None:
        log = InboundMessage(
            sending_application=header.sending_application,
            control_id=header.control_id,
            times_received=0,
        )
    log.times_received += 1
    log.sending_facility = header.sending_facility
    log.member_system = system
    log.message_type, log.charset = header.message_type[:20], header.charset[:20]
    log.raw, log.outcome, log.error, log.ack = text, result.outcome, result.error, ack
    if result.done is not None:
        log.patient_id, log.consultation_id = result.done.patient_id, result.done.consultation_id
        log.placer_number = result.done.placer_number[:80]
    return log


def _outcome(
    system: MemberSystem | None,
    header: hl7v2.Header,
    message: hl7v2.Message | None,
    problem: hl7v2.Unprocessable | None,
) -> _Result:
    """Process the message; raises _Refused for what must leave no trace but the log."""
    if system is None:
        error = _("Unknown sender %(application)s/%(facility)s") % {
            "application": header.sending_application,
            "facility": header.sending_facility,
        }
        return _Result(Outcome.REJECTED, error, hl7v2.UNKNOWN_KEY)
    if problem is not None or message is None:
        assert problem is not None
        return _Result(Outcome.REJECTED, problem.reason, problem.code)
    handler = _handlers.get(header.message_type)
    if handler is None:
        code = (
            hl7v2.UNSUPPORTED_EVENT
            if any(t.startswith(f"{header.message_code}^") for t in _handlers)
            else hl7v2.UNSUPPORTED_MESSAGE_TYPE
        )
        error = _("Message type %(type)s is not supported") % {"type": header.message_type}
        return _Result(Outcome.REJECTED, error, code)
    try:
        return _Result(Outcome.ACCEPTED, done=handler(system, header, message))
    except Rejected as exc:
        raise _Refused(_Result(Outcome.REJECTED, exc.reason, exc.code)) from None
    except DomainError as exc:
        result = _Result(Outcome.ERROR, describe(exc), _error_code(exc))
        raise _Refused(result, conflict=isinstance(exc, Conflict)) from None
    except DataError:
        # A value the database cannot store (too long, out of range) that the checks
        # before it let through: the same message would fail again, so it is refused.
        logger.exception("HL7 message %s has a value the database refuses", header.control_id)
        error = _("A value in the message is too long or out of range")
        raise _Refused(_Result(Outcome.ERROR, error, hl7v2.DATA_TYPE_ERROR)) from None
    except DatabaseError:
        raise
    except Exception:
        # A bug in a handler must not make the sender retry the same message for ever:
        # it is refused with an internal-error ERR and kept in the log for an operator.
        logger.exception("HL7 handler failed on %s", header.control_id)
        error = _("Internal error while processing the message")
        raise _Refused(_Result(Outcome.ERROR, error, hl7v2.APPLICATION_ERROR)) from None


def describe(exc: DomainError) -> str:
    """The error's message with the fields it names, for ERR and the log."""
    fields = exc.details.get("fields")
    if isinstance(fields, dict) and fields:
        named = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        return f"{exc.message} ({named})"
    if isinstance(fields, list) and fields:
        return f"{exc.message} ({', '.join(map(str, fields))})"
    return exc.message


def _error_code(exc: DomainError) -> str:
    if isinstance(exc, NotFound):
        return hl7v2.UNKNOWN_KEY
    if isinstance(exc, Conflict):
        return hl7v2.DUPLICATE_KEY
    if isinstance(exc, ValidationFailed):
        return hl7v2.DATA_TYPE_ERROR
    return hl7v2.APPLICATION_ERROR


def new_control_id() -> str:
    return f"ACK{uuid.uuid4().hex[:16]}"


def _encode(ack: str, header: hl7v2.Header | None) -> bytes:
    """The ACK in the sender's character set when it named one of the GB family (MSH-18
    says so), otherwise UTF-8."""
    codec = "utf-8"
    if header is not None and hl7v2.CHARSETS.get(header.charset.upper()) == "gb18030":
        codec = "gb18030"
        ack = ack.replace("UNICODE UTF-8", header.charset, 1)
    return ack.encode(codec, "replace")
