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
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.utils.translation import gettext as _

from telemed.audit import services as audit
from telemed.audit.models import Action
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
    the encoded ACK. Raises only ``DatabaseError`` when the database itself fails; the
    caller then drops the connection without an ACK, so the sender sends again."""
    try:
        header = hl7v2.read_header(raw)
    except hl7v2.Unprocessable as exc:
        logger.warning("MLLP frame without a usable header: %s", exc.reason)
        return _encode(
            hl7v2.acknowledgment(
                None,
                Outcome.REJECTED,
                control_id=new_control_id(),
                error=exc.reason,
                error_code=exc.code,
            ),
            None,
        )
    if not header.control_id or not header.sending_application:
        reason = _("MSH-10 (control ID) and MSH-3 (sending application) are required")
        return _encode(
            hl7v2.acknowledgment(
                header,
                Outcome.REJECTED,
                control_id=new_control_id(),
                error=reason,
                error_code=hl7v2.REQUIRED_FIELD_MISSING,
            ),
            header,
        )
    for attempt in range(RETRIES_ON_RACE):
        try:
            return _encode(_receive_once(raw, header), header)
        except IntegrityError:
            if attempt == RETRIES_ON_RACE - 1:
                raise
            logger.info("retrying %s after a concurrent write", header.control_id)
    raise AssertionError("unreachable")


def _receive_once(raw: bytes, header: hl7v2.Header) -> str:
    text, message, problem = _read(raw, header)
    with transaction.atomic():
        log = _claim(header, text)
        if log.outcome in (Outcome.ACCEPTED, Outcome.ERROR) and log.ack:
            if text != log.raw:
                logger.warning(
                    "%s resent control ID %s with different content; the first is kept",
                    header.sending_application,
                    header.control_id,
                )
            log.save(update_fields=["times_received"])
            return log.ack
        system = (
            MemberSystem.objects.select_related("service_user", "institution")
            .filter(
                sending_application=header.sending_application,
                sending_facility=header.sending_facility,
                active=True,
            )
            .first()
        )
        log.member_system = system
        outcome: str = Outcome.ACCEPTED
        error = code = ""
        if system is None:
            outcome, code = Outcome.REJECTED, hl7v2.UNKNOWN_KEY
            error = _("Unknown sender %(application)s/%(facility)s") % {
                "application": header.sending_application,
                "facility": header.sending_facility,
            }
        elif problem is not None:
            outcome, error, code = Outcome.REJECTED, problem.reason, problem.code
        else:
            assert message is not None
            outcome, error, code = _process(system, header, message, log)
        log.outcome, log.error = outcome, error
        log.ack = hl7v2.acknowledgment(
            header, outcome, control_id=f"ACK{log.pk}", error=error, error_code=code
        )
        log.save()
    return log.ack


def _read(
    raw: bytes, header: hl7v2.Header
) -> tuple[str, hl7v2.Message | None, hl7v2.Unprocessable | None]:
    try:
        text = hl7v2.decode(raw, header)
        return text, hl7v2.parse(text), None
    except hl7v2.Unprocessable as exc:
        return raw.decode("utf-8", "replace").replace("\x00", "\ufffd"), None, exc


def _claim(header: hl7v2.Header, text: str) -> InboundMessage:
    """The log row for this (sender, control ID), locked; created when new.

    On PostgreSQL a concurrent duplicate waits on the unique index until the first commits
    and then fails with IntegrityError, which ``receive`` answers by starting over: the
    second attempt finds the committed row and its ACK.
    """
    log = (
        InboundMessage.objects.unscoped("deduplicating by sender and control ID")
        .select_for_update()
        .filter(sending_application=header.sending_application, control_id=header.control_id)
        .first()
    )
    if log is not None:
        log.times_received += 1  # the row is locked: no concurrent increment is lost
        if log.outcome == Outcome.REJECTED:
            log.raw, log.message_type, log.charset = text, header.message_type, header.charset
        return log
    return InboundMessage.objects.create(
        sending_application=header.sending_application,
        sending_facility=header.sending_facility,
        control_id=header.control_id,
        message_type=header.message_type[:20],
        charset=header.charset[:20],
        raw=text,
        outcome=Outcome.REJECTED,
        ack="",
    )


def _process(
    system: MemberSystem, header: hl7v2.Header, message: hl7v2.Message, log: InboundMessage
) -> tuple[str, str, str]:
    handler = _handlers.get(header.message_type)
    if handler is None:
        code = (
            hl7v2.UNSUPPORTED_EVENT
            if any(t.startswith(f"{header.message_code}^") for t in _handlers)
            else hl7v2.UNSUPPORTED_MESSAGE_TYPE
        )
        return (
            Outcome.REJECTED,
            _("Message type %(type)s is not supported") % {"type": header.message_type},
            code,
        )
    try:
        # A savepoint: a refusal undoes the handler's writes but keeps the log row.
        with transaction.atomic():
            done = handler(system, header, message)
    except Rejected as exc:
        return Outcome.REJECTED, exc.reason, exc.code
    except DomainError as exc:
        reason = describe(exc)
        audit.denied(
            system.service_user,
            Action.UPDATE,
            object_type="hl7_message",
            object_id=f"{header.sending_application}:{header.control_id}"[:80],
            reason=reason[:200],
        )
        return Outcome.ERROR, reason, _error_code(exc)
    except (IntegrityError, DatabaseError):
        raise
    except Exception:
        # A bug in a handler must not make the sender retry the same message for ever:
        # it is refused with an internal-error ERR and kept in the log for an operator.
        logger.exception("HL7 handler failed on %s", header.control_id)
        return Outcome.ERROR, _("Internal error while processing the message"), "207"
    log.patient_id, log.consultation_id = done.patient_id, done.consultation_id
    return Outcome.ACCEPTED, "", ""


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
