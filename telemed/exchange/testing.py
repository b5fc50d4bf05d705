"""Builders for exchange tests and the benchmark: HL7 messages a hospital would send, and
tiny receivers for outbound delivery (an HTTP rest-hook and an MLLP endpoint) that keep
what they receive and drop repeats by idempotency key, as a real subscriber should."""

from __future__ import annotations

import http.server
import socketserver
import threading
from dataclasses import dataclass, field

from telemed.exchange import hl7v2


def adt(
    event: str,
    control_id: str,
    record_number: str,
    *,
    name: tuple[str, str] = ("张", "秀英"),
    pinyin: tuple[str, str] | None = None,
    birth_date: str = "19600517",
    sex: str = "F",
    resident_id: str = "",
    phone: str = "",
    address: str = "",
    application: str = "HIS",
    facility: str = "COUNTY_A",
    charset: str = "UNICODE UTF-8",
    merged_record_number: str = "",
) -> str:
    """An ADT message as text (CR between segments)."""
    identifiers = [f"{record_number}^^^{facility}^MR"]
    if resident_id:
        identifiers.append(f"{resident_id}^^^CHN^NNCHN")
    names = [f"{name[0]}^{name[1]}"]
    if pinyin:
        names.append(f"{pinyin[0]}^{pinyin[1]}")
    segments = [
        f"MSH|^~\\&|{application}|{facility}|TELEMED|PROV|20261201093000||ADT^{event}^ADT_{event}"
        f"|{control_id}|P|2.5||||||{charset}",
        f"EVN|{event}|20261201093000",
        f"PID|1||{'~'.join(identifiers)}||{'~'.join(names)}||{birth_date}|{sex}|||{address}||{phone}",
        "PV1|1|O",
    ]
    if merged_record_number:
        segments.append(f"MRG|{merged_record_number}^^^{facility}^MR")
    return "\r".join(segments) + "\r"


def order(
    control_id: str,
    record_number: str,
    *,
    specialty: str = "cardiology",
    question: str = "是否需要介入治疗？",
    summary: str = "胸痛三天，心电图异常。",
    priority: str = "R",
    application: str = "HIS",
    facility: str = "COUNTY_A",
) -> str:
    return (
        "\r".join(
            [
                f"MSH|^~\\&|{application}|{facility}|TELEMED|PROV|20261201093000||ORM^O01^ORM_O01"
                f"|{control_id}|P|2.5||||||UNICODE UTF-8",
                f"PID|1||{record_number}^^^{facility}^MR||张^秀英||19600517|F",
                f"ORC|NW|P{control_id}|||||^^^^^{priority}",
                f"OBR|1|P{control_id}||{specialty}^{question}|||||||||{summary}",
                "DG1|1||I20.0^不稳定型心绞痛^I10",
            ]
        )
        + "\r"
    )


def ack_code(ack: bytes | str) -> str:
    text = ack.decode("utf-8", "replace") if isinstance(ack, bytes) else ack
    message = hl7v2.parse(text.strip("\x0b\x1c\r\n"))
    return hl7v2.value(message, "MSA.F1")


def ack_field(ack: bytes | str, key: str) -> str:
    text = ack.decode("utf-8", "replace") if isinstance(ack, bytes) else ack
    return hl7v2.value(hl7v2.parse(text.strip("\x0b\x1c\r\n")), key)


@dataclass
class Received:
    """What a test receiver got: every delivery, and each idempotency key once."""

    deliveries: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    up: bool = True

    def add(self, key: str, body: bytes) -> None:
        with self.lock:
            self.deliveries.append((key, body))

    @property
    def unique(self) -> dict[str, bytes]:
        with self.lock:
            return dict(self.deliveries)


class _Quiet(http.server.BaseHTTPRequestHandler):
    received: Received

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not self.received.up:
            self.send_response(503)
            self.end_headers()
            return
        self.received.add(self.headers.get("Idempotency-Key", ""), body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")


class Receiver:
    """A server on 127.0.0.1 on a free port, in a thread; ``stop()`` closes it."""

    def __init__(self, server: socketserver.BaseServer, received: Received) -> None:
        self.server = server
        self.received = received
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])  # type: ignore[index]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def rest_hook_receiver() -> Receiver:
    received = Received()
    handler = type("Handler", (_Quiet,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    return Receiver(server, received)


class _MllpHandler(socketserver.BaseRequestHandler):
    received: Received

    def handle(self) -> None:
        buffer = b""
        while hl7v2.END_BLOCK not in buffer:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            buffer += chunk
        text = buffer.strip(b"\x0b\x1c\r\n").decode("utf-8")
        message = hl7v2.parse(text)
        control_id = hl7v2.value(message, "MSH.F10")
        if not self.received.up:
            self.request.close()
            return
        self.received.add(control_id, text.encode("utf-8"))
        ack = f"MSH|^~\\&|HIS|COUNTY_A|TELEMED|PROV|20261201||ACK^R01^ACK|A{control_id}|P|2.5\rMSA|AA|{control_id}\r"
        self.request.sendall(hl7v2.frame(ack))


def mllp_receiver() -> Receiver:
    received = Received()
    handler = type("Handler", (_MllpHandler,), {"received": received})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return Receiver(server, received)
