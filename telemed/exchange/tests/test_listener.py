"""The MLLP listener on a free loopback port, driven by the ``hl7`` package's MLLP client."""

from __future__ import annotations

import socket
import threading
import time

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


def _read_ack(sock: socket.socket) -> bytes:
    reply = b""
    while hl7v2.END_BLOCK not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    return reply


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _still_serving(port: int, control_id: str) -> None:
    with MLLPClient("127.0.0.1", port) as client:
        message = adt("A01", control_id, f"MR-{control_id}", name=("周", control_id))
        assert ack_code(client.send_message(message)) == "AA"


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


def test_an_oversized_frame_drops_the_connection_unread(listener):
    sock = socket.create_connection(("127.0.0.1", listener))
    sock.sendall(hl7v2.START_BLOCK + adt("A01", "BIG", "MR-BIG").encode())
    try:
        # Far more than the limit, never ended: the listener stops reading and closes.
        for _ in range(64):
            sock.sendall(b"NTE|1||" + b"x" * 8192 + b"\r")
    except OSError:
        pass
    assert _closed(sock)
    sock.close()
    _still_serving(listener, "AFTER-BIG")
    assert not InboundMessage.objects.unscoped("test").filter(control_id="BIG").exists()


def test_garbage_outside_a_frame_gets_ar_and_a_dropped_connection(listener):
    sock = socket.create_connection(("127.0.0.1", listener))
    sock.sendall(bytes(range(1, 11)) * 50)
    assert ack_code(_read_ack(sock)) == "AR"
    assert _closed(sock)
    sock.close()
    _still_serving(listener, "AFTER-GARBAGE")


def test_garbage_inside_a_frame_gets_ar_and_the_connection_stays(listener):
    with MLLPClient("127.0.0.1", listener) as client:
        assert ack_code(client.send(hl7v2.frame(b"\x00\xff\xfe garbage"))) == "AR"
        assert ack_code(client.send(hl7v2.frame(b"PID|1||MR-1"))) == "AR"
        assert ack_code(client.send_message(adt("A01", "AFTER", "MR-AFTER"))) == "AA"


def test_a_truncated_frame_gets_ar(listener):
    sock = socket.create_connection(("127.0.0.1", listener))
    sock.sendall(hl7v2.START_BLOCK + adt("A01", "CUT", "MR-CUT").encode()[:60])
    sock.shutdown(socket.SHUT_WR)
    assert ack_code(_read_ack(sock)) == "AR"
    sock.close()
    assert not Patient.objects.unscoped("test").exists()
    _still_serving(listener, "AFTER-CUT")


def test_a_frame_restarted_inside_another_keeps_only_the_second(listener):
    with MLLPClient("127.0.0.1", listener) as client:
        first = hl7v2.START_BLOCK + adt("A01", "HALF", "MR-HALF").encode()[:50]
        ack = client.send(first + hl7v2.frame(adt("A01", "WHOLE", "MR-WHOLE")))
    assert ack_code(ack) == "AA"
    assert list(InboundMessage.objects.unscoped("test").values_list("control_id", flat=True)) == [
        "WHOLE"
    ]


def test_an_idle_connection_is_closed(listener):
    sock = socket.create_connection(("127.0.0.1", listener))
    started = time.monotonic()
    assert _closed(sock)
    assert time.monotonic() - started < 5
    sock.close()


def test_a_database_failure_sends_no_ack_and_the_listener_keeps_serving():
    from django.db import OperationalError

    calls: list[bytes] = []

    def failing_then_fine(raw: bytes) -> bytes:
        calls.append(raw)
        if len(calls) == 1:
            raise OperationalError("the database went away")
        header = hl7v2.read_header(raw)
        return hl7v2.acknowledgment(header, "AA", control_id="X").encode()

    port, stop = mllp.run_in_thread(handler=failing_then_fine)
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(hl7v2.frame(adt("A01", "DBDOWN", "MR-DB")))
        # No ACK: the sender will send again, so nothing acknowledged is lost.
        assert _closed(sock)
        sock.close()
        with MLLPClient("127.0.0.1", port) as client:
            assert ack_code(client.send_message(adt("A01", "DBDOWN", "MR-DB"))) == "AA"
    finally:
        stop()
    assert len(calls) == 2


def test_connections_beyond_the_limit_are_closed(his):
    port, stop = mllp.run_in_thread(max_connections=1, idle_timeout=5)
    try:
        first = socket.create_connection(("127.0.0.1", port))
        first.sendall(hl7v2.frame(adt("A01", "LIM1", "MR-LIM1")))
        assert ack_code(_read_ack(first)) == "AA"
        second = socket.create_connection(("127.0.0.1", port))
        assert _closed(second)
        second.close()
        first.close()
        time.sleep(0.2)
        _still_serving(port, "LIM2")
    finally:
        stop()


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


def test_listener_processes_can_share_a_port(listener):
    # Two listeners on one port (as two processes would be): both serve.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    first_port, stop_first = mllp.run_in_thread(port=port, reuse_port=True)
    second_port, stop_second = mllp.run_in_thread(port=port, reuse_port=True)
    try:
        assert first_port == second_port == port
        for n in range(4):
            _still_serving(port, f"SHARED{n}")
    finally:
        stop_first()
        stop_second()
