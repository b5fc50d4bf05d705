"""The listener's framing and its limits, with a stand-in handler (no database): what a
misbehaving sender can do to the listener, and that it keeps serving afterwards."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError
from hl7.client import MLLPClient

from telemed.exchange import hl7v2, mllp
from telemed.exchange.testing import ack_code, adt


class Handler:
    """Answers AA to every message with a header; remembers their control IDs."""

    def __init__(self) -> None:
        self.control_ids: list[str] = []
        self.fail_next = False

    def __call__(self, raw: bytes) -> bytes:
        if self.fail_next:
            self.fail_next = False
            raise OperationalError("the database went away")
        header = hl7v2.read_header(raw)
        self.control_ids.append(header.control_id)
        return hl7v2.acknowledgment(header, "AA", control_id="X").encode()


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def port(handler: Handler) -> Iterator[int]:
    bound, stop = mllp.run_in_thread(
        max_bytes=64 * 1024, idle_timeout=2, workers=2, handler=handler
    )
    yield bound
    stop()


def read_ack(sock: socket.socket) -> bytes:
    reply = b""
    while hl7v2.END_BLOCK not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    return reply


def closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def still_serving(port: int, control_id: str) -> None:
    with MLLPClient("127.0.0.1", port) as client:
        assert ack_code(client.send_message(adt("A01", control_id, "MR-1"))) == "AA"


def test_an_oversized_frame_drops_the_connection_unread(port, handler):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(hl7v2.START_BLOCK + adt("A01", "BIG", "MR-BIG").encode())
    try:
        # Far more than the limit, never ended: the listener stops reading and closes.
        for _ in range(64):
            sock.sendall(b"NTE|1||" + b"x" * 8192 + b"\r")
    except OSError:
        pass
    assert closed(sock)
    sock.close()
    still_serving(port, "AFTER-BIG")
    assert handler.control_ids == ["AFTER-BIG"]


def test_garbage_outside_a_frame_gets_ar_and_a_dropped_connection(port, handler):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(bytes(range(1, 11)) * 50)
    assert ack_code(read_ack(sock)) == "AR"
    assert closed(sock)
    sock.close()
    still_serving(port, "AFTER-GARBAGE")


def test_a_truncated_frame_gets_ar(port, handler):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(hl7v2.START_BLOCK + adt("A01", "CUT", "MR-CUT").encode()[:60])
    sock.shutdown(socket.SHUT_WR)
    assert ack_code(read_ack(sock)) == "AR"
    sock.close()
    still_serving(port, "AFTER-CUT")
    assert handler.control_ids == ["AFTER-CUT"]


def test_a_frame_restarted_inside_another_keeps_only_the_second(port, handler):
    with MLLPClient("127.0.0.1", port) as client:
        first = hl7v2.START_BLOCK + adt("A01", "HALF", "MR-HALF").encode()[:50]
        ack = client.send(first + hl7v2.frame(adt("A01", "WHOLE", "MR-WHOLE")))
    assert ack_code(ack) == "AA"
    assert handler.control_ids == ["WHOLE"]


def test_line_endings_between_frames_are_tolerated(port, handler):
    with MLLPClient("127.0.0.1", port) as client:
        for n in range(3):
            ack = client.send(b"\r\n" + hl7v2.frame(adt("A01", f"NL{n}", "MR-1")))
            assert ack_code(ack) == "AA"
    assert handler.control_ids == ["NL0", "NL1", "NL2"]


def test_an_idle_connection_is_closed(port):
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    assert closed(sock)
    assert time.monotonic() - started < 5
    sock.close()


def test_a_database_failure_sends_no_ack_and_the_listener_keeps_serving(port, handler):
    handler.fail_next = True
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(hl7v2.frame(adt("A01", "DBDOWN", "MR-DB")))
    # No ACK: the sender will send again, so nothing acknowledged is lost.
    assert closed(sock)
    sock.close()
    still_serving(port, "DBDOWN")
    assert handler.control_ids == ["DBDOWN"]


def test_connections_beyond_the_limit_are_closed(handler):
    bound, stop = mllp.run_in_thread(max_connections=1, idle_timeout=5, handler=handler)
    try:
        first = socket.create_connection(("127.0.0.1", bound))
        first.sendall(hl7v2.frame(adt("A01", "LIM1", "MR-LIM1")))
        assert ack_code(read_ack(first)) == "AA"
        second = socket.create_connection(("127.0.0.1", bound))
        assert closed(second)
        second.close()
        first.close()
        time.sleep(0.2)
        still_serving(bound, "LIM2")
    finally:
        stop()


def test_listener_processes_can_share_a_port(handler):
    # Two listeners on one port (as two processes would be): both serve.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    first, stop_first = mllp.run_in_thread(port=free, reuse_port=True, handler=handler)
    second, stop_second = mllp.run_in_thread(port=free, reuse_port=True, handler=handler)
    try:
        assert first == second == free
        for n in range(4):
            still_serving(free, f"SHARED{n}")
    finally:
        stop_first()
        stop_second()
