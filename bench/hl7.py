"""HL7 v2 ADT through MLLP with ACK-after-commit (issue 7's goal: >= 500 messages/s from 4
concurrent senders on PostgreSQL).

(a) mllp: the real listener (``telemed.exchange.mllp``) on a free loopback port in this
    process; 4 sender processes, each one connection with the ``hl7`` package's MLLP client,
    send ``MESSAGES`` ADT messages in all (A04 registrations of new patients, one in ten an
    A08 update of a patient sent earlier by the same sender, one in twenty a resend of an
    earlier control ID); each waits for its ACK before the next message (original mode).
(b) in_process: the same kind of messages through ``inbound.receive`` in one thread, with
    no socket: what processing costs, with the number of queries and the time spent in the
    database per message (Django's execute wrapper); and in_process_together: the same
    through ``inbound.receive_together`` four at a time, as the listener's group commit
    processes one message from each of the four senders.
(c) service: the MPI alone, ``patients.services.register_patient`` called directly with the
    same kind of patients (no HL7, no log): the floor this path cannot go below; and parse:
    decoding and parsing the messages alone.
(d) two processes: two ``telemed mllp --reuse-port`` listener processes sharing the port
    (the kernel spreads the senders' connections), the way the listener uses two cores.
(e) echo: the listener's framing and thread hand-off with a handler that answers AA
    without touching the database: the transport's ceiling.

Ratios: mllp / in_process says what the socket, framing and threads cost (or gain, with
concurrency); mllp / echo how far the database work is from the transport's ceiling.
Runs on a database of its own (PostgreSQL when DATABASE_URL is set, SQLite otherwise).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

MESSAGES = int(os.environ.get("BENCH_HL7_MESSAGES", "2000"))
IN_PROCESS = int(os.environ.get("BENCH_HL7_IN_PROCESS", "400"))
SENDERS = 4
TIME_LIMIT = float(os.environ.get("BENCH_HL7_SECONDS", "120"))


def _message(sender: int, n: int, event: str = "A04", control: str | None = None) -> str:
    from telemed.exchange.testing import adt
    from telemed.patients import identifiers

    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(sender * 100_003 + n * 7) % 25_000)
    return adt(
        event,
        control or f"S{sender}-{n}-{event}",
        f"MR{sender}-{n}",
        name=("患", f"者{sender}x{n}"),
        birth_date=f"{birth:%Y%m%d}",
        resident_id=identifiers.make("410522", birth, (sender * 250 + n) % 1000),
        phone=f"138{sender:02d}{n:06d}",
        address="人民路1号^^安阳县^河南省",
    )


def workload(sender: int, count: int, offset: int = 0) -> list[str]:
    """One sender's messages: new patients, some updates and some resends."""
    messages: list[str] = []
    for i in range(count):
        n = offset + i
        if i % 20 == 19 and messages:
            messages.append(messages[-5])  # a resend: same control ID
        elif i % 10 == 9:
            messages.append(_message(sender, n - 3, "A08", f"S{sender}-{n}-A08"))
        else:
            messages.append(_message(sender, n))
    return messages


def _send(port: int, messages: list[str], results: Any) -> None:
    """A sender process: one connection, one message in flight."""
    from hl7.client import MLLPClient

    codes: dict[str, int] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + TIME_LIMIT
    with MLLPClient("127.0.0.1", port) as client:
        for text in messages:
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            ack = client.send_message(text).decode("utf-8", "replace")
            latencies.append((time.perf_counter() - start) * 1000)
            code = ack.split("MSA|", 1)[1][:2] if "MSA|" in ack else "??"
            codes[code] = codes.get(code, 0) + 1
    results.put({"codes": codes, "latencies": latencies})


def _through_mllp(port: int, offset: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    per_sender = MESSAGES // SENDERS
    loads = [workload(s, per_sender, offset) for s in range(SENDERS)]
    processes = [context.Process(target=_send, args=(port, load, results)) for load in loads]
    start = time.perf_counter()
    for process in processes:
        process.start()
    collected = [results.get(timeout=TIME_LIMIT + 60) for _ in processes]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join(timeout=10)
    codes: dict[str, int] = {}
    latencies: list[float] = []
    for each in collected:
        latencies += each["latencies"]
        for code, count in each["codes"].items():
            codes[code] = codes.get(code, 0) + count
    sent = len(latencies)
    ordered = sorted(latencies)
    return {
        "messages": sent,
        "seconds": round(elapsed, 2),
        "per_second": round(sent / elapsed, 1),
        "acks": codes,
        "latency_p50_ms": round(statistics.median(ordered), 2) if ordered else None,
        "latency_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2) if ordered else None,
    }


def _in_process(together: int = 1) -> dict[str, Any]:
    from django.db import connection

    from telemed.core import context
    from telemed.exchange import inbound

    messages = workload(9 if together == 1 else 10, IN_PROCESS)
    meta = context.RequestMeta(source_ip="127.0.0.1", channel="mllp")
    db_time = [0.0]
    queries = [0]

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_time[0] += time.perf_counter() - start
            queries[0] += 1

    with connection.execute_wrapper(wrapper):
        start = time.perf_counter()
        cpu = time.process_time()
        for at in range(0, len(messages), together):
            if together == 1:
                inbound.receive(messages[at].encode("utf-8"))
            else:
                batch = messages[at : at + together]
                inbound.receive_together([inbound.Arrival(m.encode(), meta) for m in batch])
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {
        "messages": len(messages),
        "per_second": round(len(messages) / elapsed, 1),
        "ms_per_message": round(elapsed / len(messages) * 1000, 3),
        "db_ms_per_message": round(db_time[0] / len(messages) * 1000, 3),
        "cpu_ms_per_message": round(cpu / len(messages) * 1000, 3),
        "queries_per_message": round(queries[0] / len(messages), 1),
    }


def _service_and_parse(system: Any) -> dict[str, Any]:
    from telemed.exchange import hl7v2
    from telemed.patients import identifiers
    from telemed.patients import services as patient_services

    actor = system.service_user
    start = time.perf_counter()
    for n in range(IN_PROCESS):
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=n * 11)
        patient_services.register_patient(
            actor,
            patient_services.NewPatient(
                name=f"直{n}",
                sex="female",
                birth_date=birth,
                record_number=f"DIRECT-{n}",
                resident_id=identifiers.make("410523", birth, n % 1000),
                phone="13800000000",
                address="人民路1号",
            ),
        )
    service = time.perf_counter() - start
    messages = [text.encode() for text in workload(8, IN_PROCESS)]
    start = time.perf_counter()
    for raw in messages:
        hl7v2.parse(hl7v2.decode(raw, hl7v2.read_header(raw)))
    parse = time.perf_counter() - start
    return {
        "service_per_second": round(IN_PROCESS / service, 1),
        "service_ms_per_patient": round(service / IN_PROCESS * 1000, 3),
        "parse_ms_per_message": round(parse / len(messages) * 1000, 3),
    }


def _database_url() -> str:
    """The benchmark's own database as a DATABASE_URL, for listener processes."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _processes(count: int) -> dict[str, Any]:
    """``count`` listener processes (``telemed mllp --reuse-port``) sharing one port."""
    from django.db import connections

    connections.close_all()  # SQLite: let the children write
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _database_url()}
    command = [sys.executable, "-m", "telemed.cli", "mllp", "--reuse-port", "--port", str(port)]
    children = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        time.sleep(3)  # every child bound, not only the first
        return _through_mllp(port, offset=123_457)  # new people: no collision mod 25,000 days
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _echo() -> dict[str, Any]:
    from telemed.exchange import hl7v2, mllp

    def answer(raw: bytes) -> bytes:
        header = hl7v2.read_header(raw)
        return hl7v2.acknowledgment(header, "AA", control_id="E").encode()

    port, stop = mllp.run_in_thread(handler=answer)
    try:
        return _through_mllp(port, offset=900_000)
    finally:
        stop()


def run() -> dict[str, Any]:
    from django.conf import settings

    from bench._common import _drop_database, _own_database

    connection, original = _own_database()
    try:
        from telemed.exchange import mllp, services
        from telemed.testing import build_network

        build_network()
        system = services.create_member_system(
            "COUNTY_A", name="HIS", sending_application="HIS", sending_facility="COUNTY_A"
        )
        in_process = _in_process()
        in_process_together = _in_process(together=SENDERS)
        floor = _service_and_parse(system)
        port, stop = mllp.run_in_thread()
        try:
            through = _through_mllp(port, offset=0)
        finally:
            stop()
        two_processes = _processes(2)
        echo = _echo()
        from telemed.exchange.models import InboundMessage
        from telemed.patients.models import Patient

        stored = InboundMessage.objects.unscoped("benchmark count").count()
        patients = Patient.objects.unscoped("benchmark count").count()
    finally:
        _drop_database(connection, original)
    return {
        "database": connection.vendor,
        "senders": SENDERS,
        "workers": settings.MLLP_WORKERS,
        "mllp": through,
        "mllp_two_processes": two_processes,
        "in_process": in_process,
        "in_process_together": in_process_together,
        "echo": echo,
        "floor": floor,
        "ratio_in_process_to_service": round(
            in_process["per_second"] / floor["service_per_second"], 2
        ),
        "stored_messages": stored,
        "patients": patients,
        "ratio_mllp_to_in_process": round(through["per_second"] / in_process["per_second"], 2),
        "ratio_together_to_in_process": round(
            in_process_together["per_second"] / in_process["per_second"], 2
        ),
        "ratio_two_processes_to_one": round(two_processes["per_second"] / through["per_second"], 2),
        "ratio_mllp_to_echo": round(through["per_second"] / echo["per_second"], 3),
        "goal_per_second": 500,
    }
