"""Group commit: messages that arrive together are processed in one transaction, each ACKed
only after it committed; a refusal or a duplicate among them changes nothing for the others
(``inbound.receive_together``, which the MLLP listener calls)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telemed.audit.services import verify_chain
from telemed.core import context
from telemed.exchange import inbound
from telemed.exchange.models import InboundMessage, Outcome
from telemed.exchange.testing import ack_code, adt
from telemed.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)

META = context.RequestMeta(source_ip="127.0.0.1", channel="mllp")


def together(*texts: str) -> list[bytes]:
    acks = inbound.receive_together([inbound.Arrival(text.encode(), META) for text in texts])
    answered = [ack for ack in acks if ack is not None]
    assert len(answered) == len(texts)  # None: no ACK (the database failed)
    return answered


def test_messages_together_are_stored_once_each_in_one_transaction(his):
    texts = [adt("A04", f"G{n}", f"MR-G{n}", name=("赵", f"{n}号")) for n in range(4)]
    with CaptureQueriesContext(connection) as queries:
        acks = together(*texts)
    assert [ack_code(ack) for ack in acks] == ["AA"] * 4
    # One append to the audit chain (one read of its head) for the four, not four.
    heads = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '"audit_auditchainhead"' in q["sql"]
    ]
    assert len(heads) == 1
    assert Patient.objects.unscoped("test").count() == 4
    assert InboundMessage.objects.unscoped("test").count() == 4
    assert list(verify_chain()) == []


def test_a_resend_inside_the_batch_is_answered_with_the_first_ack(his):
    first = adt("A04", "DUP1", "MR-DUP1", name=("钱", "一"))
    acks = together(first, adt("A04", "OTHER", "MR-OTHER", name=("钱", "二")), first)
    assert acks[2] == acks[0] and ack_code(acks[0]) == "AA"
    log = InboundMessage.objects.unscoped("test").get(control_id="DUP1")
    assert log.times_received == 2
    assert Patient.objects.unscoped("test").count() == 2


def test_a_refused_message_leaves_the_others_accepted(his):
    bad = adt("A04", "BAD", "MR-BAD", name=("孙", "三"), birth_date="19991332")
    acks = together(
        adt("A04", "OK1", "MR-OK1", name=("孙", "一")),
        bad,
        adt("A04", "OK2", "MR-OK2", name=("孙", "二")),
    )
    assert [ack_code(ack) for ack in acks] == ["AA", "AE", "AA"]
    outcomes = dict(InboundMessage.objects.unscoped("test").values_list("control_id", "outcome"))
    assert outcomes == {"OK1": Outcome.ACCEPTED, "BAD": Outcome.ERROR, "OK2": Outcome.ACCEPTED}
    assert sorted(Patient.objects.unscoped("test").values_list("name", flat=True)) == [
        "孙一",
        "孙二",
    ]
    assert list(verify_chain()) == []


def test_a_message_without_a_header_in_the_batch_gets_ar(his):
    acks = together(adt("A04", "H1", "MR-H1", name=("李", "一")), "PID|1||MR-1")
    assert [ack_code(ack) for ack in acks] == ["AA", "AR"]
    assert InboundMessage.objects.unscoped("test").count() == 1
