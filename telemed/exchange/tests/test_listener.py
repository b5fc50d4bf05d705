"""The MLLP listener with the real message handling on a free loopback port, driven by the
``hl7`` package's MLLP client (its framing and limits: test_framing)."""

from __future__ import annotations

import threading

import pytest
from hl7.client import MLLPClient

from telemed.exchange import hl7v2, mllp
from telemed.exchange.models import InboundMessage
from telemed.exchange.testing import ack_code, adt
from telemed.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener(his):
    port, stop = mllp.run_in_thread(max_bytes=64 * 1024, idle_timeout=2, workers=4)
    yield port
    stop()


def test_registers_patients_and_acknowledges_resends(listener):
    with MLLPClient("127.0.0.1", listener) as client:
        acks = [
            client.send_message(adt("A01", f"L{n}", f"MR-{n}", name=("李", f"{n}号")))
            for n in range(5)
        ]
        resent = client.send_message(adt("A01", "L3", "MR-3", name=("李", "3号")))
    assert [ack_code(ack) for ack in acks] == ["AA"] * 5
    assert resent == acks[3]
    assert Patient.objects.unscoped("test").count() == 5
    assert InboundMessage.objects.unscoped("test").count() == 5


def test_concurrent_senders_lose_and_double_nothing(listener):
    codes: list[str] = []

    def sender(number: int) -> None:
        with MLLPClient("127.0.0.1", listener) as client:
            for n in range(10):
                # Every sender also resends the others' messages: each is stored once.
                control = f"C{(number + n) % 4}-{n}"
                text = adt("A04", control, f"MR-{control}", name=("王", control))
                codes.append(ack_code(client.send_message(text)))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == ["AA"] * 40
    distinct = {f"C{(i + n) % 4}-{n}" for i in range(4) for n in range(10)}
    assert Patient.objects.unscoped("test").count() == len(distinct)
    assert InboundMessage.objects.unscoped("test").count() == len(distinct)


def test_garbage_inside_a_frame_gets_ar_and_the_connection_stays(listener):
    with MLLPClient("127.0.0.1", listener) as client:
        assert ack_code(client.send(hl7v2.frame(b"\x00\xff\xfe garbage"))) == "AR"
        assert ack_code(client.send(hl7v2.frame(b"PID|1||MR-1"))) == "AR"
        assert ack_code(client.send_message(adt("A01", "AFTER", "MR-AFTER"))) == "AA"


def test_two_first_messages_about_one_new_patient_at_once_are_both_accepted(listener):
    codes: list[str] = []
    start = threading.Barrier(2)

    def sender(event: str) -> None:
        with MLLPClient("127.0.0.1", listener) as client:
            start.wait(timeout=10)
            for n in range(10):
                text = adt(event, f"{event}-{n}", f"MR-RACE{n}", name=("吴", f"{n}号"))
                codes.append(ack_code(client.send_message(text)))

    threads = [threading.Thread(target=sender, args=(event,)) for event in ("A04", "A08")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == ["AA"] * 20
    assert Patient.objects.unscoped("test").count() == 10
