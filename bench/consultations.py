"""Consultations under load (issue 3's goals: >= 100 full cycles/s on PostgreSQL, board
p99 < 100 ms with 50 viewers connected while cases change, push p99 < 500 ms).

(a) cycles: submit -> quality-control accept -> triage -> schedule -> sign the conclusion,
    each step one JSON API request through Django's test Client (in process: the whole
    Django stack, middleware, session auth, services, audit chain, event subscribers; no
    socket or HTTP parsing). Drafts are made beforehand. One worker, then one worker process
    per core, each with its own expert and room.
(b) board: a real uvicorn server (HTTP + WebSockets, in-memory channel layer) in a thread;
    50 viewers in a child process hold /ws/board/ open (as pages do: each change they may see
    arrives with their rows, rendered once per scope and shared; a message without rows would
    make them fetch /board/rows, as the page does); a probe fetches /board/ and /board/rows in
    turn, first with no changes ("_idle"), then while cases on today's board (100 rows)
    change at CHANGES_PER_S. Run with the shared per-scope row cache on, and off.
(c) push: from the commit of a change (an event subscriber placed first) to the message
    arriving at each viewer whose scope covers the case.

Runs on a database of its own, made and dropped here by Django's test-database machinery
(PostgreSQL when DATABASE_URL is set, SQLite otherwise). Loops are bounded (counts and
durations below, overridable by BENCH_* environment variables).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CYCLES = int(os.environ.get("BENCH_CYCLES", "200"))
WARMUP = 10
VIEWERS = int(os.environ.get("BENCH_VIEWERS", "50"))
CHANGE_SECONDS = float(os.environ.get("BENCH_CHANGE_SECONDS", "15"))
CHANGES_PER_S = float(os.environ.get("BENCH_CHANGES_PER_S", "4"))
IDLE_SECONDS = 3.0
BOARD_ROWS = 100  # a busy day: the source reports 108 consultations on one day
EXPERTS = 10


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary_ms(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": pct(values, 50),
        "p99_ms": pct(values, 99),
        "max_ms": round(max(values), 2) if values else None,
        "mean_ms": round(statistics.fmean(values), 2) if values else None,
    }


# ---------------------------------------------------------------------------------------
# The database of its own.


def _own_database() -> tuple[Any, str]:
    from django.conf import settings
    from django.db import connection

    test = settings.DATABASES["default"].setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(Path(settings.VAR_DIR) / f"bench-consultations-{os.getpid()}.sqlite3")
    else:
        test["NAME"] = f"telemed_bench_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    _close_pool(connection)  # a pool opened on the original database would keep using it
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    _close_pool(connection)
    return connection, original


def _close_pool(connection: Any) -> None:
    """Hand the connection back and close PostgreSQL's pool, so that the next connection
    opens on the database the settings name now."""
    connection.close()
    if connection.alias in getattr(connection, "_connection_pools", {}):
        connection.close_pool()


def _drop_database(connection: Any, original: str) -> None:
    from django.db import connections

    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
    connections.close_all()
    _close_pool(connection)
    connection.creation.destroy_test_db(original, verbosity=0)


# ---------------------------------------------------------------------------------------
# The people and the places.


def _world() -> dict[str, Any]:
    from telemed.accounts.models import Role
    from telemed.consultations.testing import build_team
    from telemed.directory.models import ConsultationRoom, ExpertProfile
    from telemed.testing import build_network, make_expert, make_user

    network = build_network()
    alice = make_user("alice", Role.REQUESTING_DOCTOR, network.county_a)
    charlie = make_user("charlie", Role.REQUESTING_DOCTOR, network.county_b)
    team = build_team(network, alice)
    experts = [team.expert]
    rooms = [team.room]
    for i in range(1, EXPERTS):
        expert = make_expert(f"expert{i}", network.province, network.cardiology)
        assert expert.practitioner is not None
        ExpertProfile.objects.create(practitioner=expert.practitioner)
        experts.append(expert)
        rooms.append(
            ConsultationRoom.objects.create(
                institution=network.province, code=f"r{i + 1}", name=f"会诊室{i + 1}"
            )
        )
    return {
        "network": network,
        "team": team,
        "charlie": charlie,
        "experts": experts,
        "rooms": rooms,
        "viewers": {
            "province_manager": team.manager,
            "province_qc": team.qc,
            "province_supervisor": make_user("supervisor", Role.SUPERVISOR, network.province),
            "city_a_manager": make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a),
            "city_b_manager": make_user("city_b_mgr", Role.CONSULTATION_MANAGER, network.city_b),
        },
    }


def _drafts(requester: Any, count: int, prefix: str) -> list[int]:
    from telemed.consultations import services
    from telemed.testing import register

    patient = register(requester, f"患者{prefix}", f"{prefix}-0001").patient
    return [
        services.create_draft(
            requester,
            patient.pk,
            services.Request(
                clinical_summary="胸痛三天，心电图异常。",
                question="是否需要介入治疗？",
                wanted_specialty="cardiology",
                consent_confirmed=True,
            ),
        ).pk
        for _ in range(count)
    ]


# ---------------------------------------------------------------------------------------
# (a) Full cycles through the JSON API.


def _clients(people: dict[str, Any]) -> dict[str, Any]:
    from django.test import Client

    clients = {}
    for role, user in people.items():
        client = Client()
        client.force_login(user)
        clients[role] = client
    return clients


def _cycle(
    clients: dict[str, Any],
    case_id: int,
    expert_id: int,
    room_id: int,
    start: str,
    steps: dict[str, list[float]],
) -> None:
    from telemed.consultations.testing import CHECKLIST

    url = f"/api/consultations/{case_id}"
    plan: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
        ("submit", "requester", f"{url}/submit", {}),
        (
            "qc_accept",
            "qc",
            f"{url}/quality-check",
            {"accept": True, "checklist": CHECKLIST},
        ),
        ("triage", "manager", f"{url}/triage", {"expert_id": expert_id}),
        ("schedule", "manager", f"{url}/schedule", {"start": start, "room_id": room_id}),
        (
            "conclude",
            "expert",
            f"{url}/conclusion",
            {
                "findings": "窦性心律，ST段压低。",
                "diagnosis": "不稳定型心绞痛",
                "icd10_codes": ["I20.0"],
                "recommendations": "建议冠脉造影。",
            },
        ),
    )
    for name, role, path, body in plan:
        began = time.perf_counter()
        response = clients[role].post(path, data=json.dumps(body), content_type="application/json")
        steps[name].append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(
                f"{name} answered {response.status_code}: {response.content[:300]!r}"
            )


def _cycles(world: dict[str, Any], worker: int, case_ids: list[int], warmup: int) -> dict[str, Any]:
    team = world["team"]
    expert = world["experts"][worker]
    room = world["rooms"][worker]
    clients = _clients(
        {"requester": team.requester, "qc": team.qc, "manager": team.manager, "expert": expert}
    )
    steps: dict[str, list[float]] = {
        k: [] for k in ("submit", "qc_accept", "triage", "schedule", "conclude")
    }
    # A day far from today, so that these cases stay off today's board. Each case concludes
    # within its cycle, which frees the slot for the next.
    for i, case_id in enumerate(case_ids[:warmup]):
        _cycle(
            clients, case_id, expert.pk, room.pk, f"2031-03-03T{8 + i % 8:02d}:00:00+08:00", steps
        )
    steps = {k: [] for k in steps}
    began = time.perf_counter()
    for i, case_id in enumerate(case_ids[warmup:]):
        _cycle(
            clients, case_id, expert.pk, room.pk, f"2031-03-04T{8 + i % 8:02d}:00:00+08:00", steps
        )
    elapsed = time.perf_counter() - began
    return {"cycles": len(case_ids) - warmup, "seconds": elapsed, "steps": steps}


def _queries_per_cycle(world: dict[str, Any], case_id: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team = world["team"]
    clients = _clients(
        {
            "requester": team.requester,
            "qc": team.qc,
            "manager": team.manager,
            "expert": world["experts"][0],
        }
    )
    steps: dict[str, list[float]] = {
        k: [] for k in ("submit", "qc_accept", "triage", "schedule", "conclude")
    }
    with CaptureQueriesContext(connection) as queries:
        _cycle(
            clients,
            case_id,
            world["experts"][0].pk,
            world["rooms"][0].pk,
            "2031-03-05T08:00:00+08:00",
            steps,
        )
    return len(queries.captured_queries)


def _parallel_cycles(world: dict[str, Any], workers: int, per_worker: int) -> dict[str, Any]:
    """One process per worker (forked), each with its own expert and room."""
    import multiprocessing

    from django.db import connections

    slices = [
        _drafts(world["team"].requester, per_worker + WARMUP, f"P{w}") for w in range(workers)
    ]
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    start_gate = context.Event()

    def work(worker: int) -> None:
        try:
            start_gate.wait(30)
            result = _cycles(world, worker, slices[worker], WARMUP)
            queue.put((worker, result["cycles"], result["seconds"], None))
        except Exception as error:  # reported by the parent
            queue.put((worker, 0, 0.0, repr(error)))
        finally:
            connections.close_all()

    processes = [context.Process(target=work, args=(w,)) for w in range(workers)]
    for process in processes:
        process.start()
    began = time.perf_counter()
    start_gate.set()
    results = [queue.get(timeout=600) for _ in processes]
    wall = time.perf_counter() - began
    for process in processes:
        process.join(30)
    errors = [error for *_, error in results if error]
    if errors:
        raise RuntimeError(f"parallel cycles failed: {errors}")
    total = sum(cycles for _, cycles, _, _ in results)
    # The warm-up of each worker is inside the wall time; count it in.
    return {
        "workers": workers,
        "cycles": total + WARMUP * workers,
        "wall_seconds": round(wall, 2),
        "cycles_per_s": round((total + WARMUP * workers) / wall, 1),
    }


def cycles_benchmark(world: dict[str, Any]) -> dict[str, Any]:
    case_ids = _drafts(world["team"].requester, CYCLES + WARMUP + 1, "C")
    queries = _queries_per_cycle(world, case_ids.pop())
    one = _cycles(world, 0, case_ids, WARMUP)
    steps = one["steps"]
    workers = max(2, os.cpu_count() or 2)
    parallel = _parallel_cycles(world, workers, max(20, CYCLES // workers))
    return {
        "via": "django.test.Client, in process (JSON API, session auth, full middleware)",
        "requests_per_cycle": 5,
        "queries_per_cycle": queries,
        "one_worker": {
            "cycles": one["cycles"],
            "cycles_per_s": round(one["cycles"] / one["seconds"], 1),
            "requests_per_s": round(5 * one["cycles"] / one["seconds"], 1),
            "step_p50_ms": {name: pct(values, 50) for name, values in steps.items()},
            "step_p99_ms": {name: pct(values, 99) for name, values in steps.items()},
        },
        "parallel": parallel,
    }


# ---------------------------------------------------------------------------------------
# (b) and (c): the board under viewers, and push latency.


def _today_at(minutes: int) -> Any:
    import datetime as dt

    from django.utils import timezone

    base = dt.datetime.combine(
        timezone.localdate(), dt.time(7, 0), tzinfo=timezone.get_current_timezone()
    )
    return base + dt.timedelta(minutes=minutes)


def _fill_board(world: dict[str, Any]) -> dict[str, Any]:
    """BOARD_ROWS cases on today's board (scheduled, in session, concluded) and cases
    assigned, waiting to be booked, for the changes to come."""
    import dataclasses

    from telemed.consultations import services
    from telemed.consultations.testing import CHECKLIST, CONCLUSION

    team = world["team"]
    charlie_team = dataclasses.replace(team, requester=world["charlie"])
    to_book = 2 * (int(CHANGE_SECONDS * CHANGES_PER_S / 3) + 5)  # two runs of changes
    ids_a = _drafts(team.requester, BOARD_ROWS // 2 + to_book // 2 + 1, "BA")
    ids_b = _drafts(charlie_team.requester, BOARD_ROWS // 2 + to_book // 2 + 1, "BB")
    cases = [(cid, team) for cid in ids_a] + [(cid, charlie_team) for cid in ids_b]
    cases.sort(key=lambda pair: pair[0])
    state: dict[str, Any] = {"scheduled": [], "in_session": [], "assigned": []}
    # Bookings to come go after the board's first rows (7:00-11:30), per expert.
    state["slots"] = dict.fromkeys(range(EXPERTS), 12)
    for index, (case_id, owner) in enumerate(cases):
        expert = world["experts"][index % EXPERTS]
        room = world["rooms"][index % EXPERTS]
        services.submit(owner.requester, case_id)
        services.quality_check(team.qc, case_id, accept=True, checklist=CHECKLIST)
        services.triage(team.manager, case_id, expert_id=expert.pk)
        if index >= BOARD_ROWS:
            state["assigned"].append(case_id)
            continue
        services.schedule(
            team.manager, case_id, start=_today_at(30 * (index // EXPERTS)), room_id=room.pk
        )
        if index % 5 == 0:
            services.conclude(expert, case_id, CONCLUSION)
        elif index % 5 == 1:
            services.start_session(expert, case_id)
            state["in_session"].append(case_id)
        else:
            state["scheduled"].append(case_id)
    return state


class Server:
    """uvicorn with the ASGI application, in a thread of this process (so that the changes
    made here reach its in-memory channel layer)."""

    def __init__(self) -> None:
        import uvicorn

        # IPPROTO_TCP named, or asyncio leaves Nagle on for the accepted sockets (40 ms stalls).
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                "telemed.asgi:application",
                lifespan="off",
                log_level="warning",
                access_log=False,
                ws="websockets-sansio",
                # As `telemed serve` (uvicorn's default): permessage-deflate when the client
                # offers it, as browsers do. BENCH_WS_DEFLATE=0 measures without.
                ws_per_message_deflate=os.environ.get("BENCH_WS_DEFLATE", "1") != "0",
            )
        )
        self.thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()


def _sessions(world: dict[str, Any]) -> list[dict[str, str]]:
    """VIEWERS signed-in sessions: most at the province (scope: everything), some in each city."""
    from django.test import Client

    kinds = (
        ["province_manager"] * 3
        + ["province_qc", "province_supervisor"] * 3
        + [
            "city_a_manager",
            "city_b_manager",
        ]
    )
    sessions = []
    for i in range(VIEWERS):
        kind = kinds[i % len(kinds)]
        client = Client()
        client.force_login(world["viewers"][kind])
        sessions.append({"kind": kind, "cookie": client.cookies["sessionid"].value})
    return sessions


def _expert_index(world: dict[str, Any], case_id: int) -> int:
    from telemed.consultations.models import Consultation

    expert_id = Consultation.objects.unscoped("bench").get(pk=case_id).assigned_expert_id
    return next(i for i, e in enumerate(world["experts"]) if e.pk == expert_id)


def _changes(
    world: dict[str, Any], state: dict[str, Any], stop_at: float, timeline: list[Any]
) -> list[str]:
    """Change today's cases at CHANGES_PER_S until stop_at: book one (a new row), start one,
    conclude one, in turn. Returns the change labels in order."""
    from telemed.consultations import services
    from telemed.consultations.testing import CONCLUSION

    team = world["team"]
    made: list[str] = []
    period = 1 / CHANGES_PER_S
    next_at = time.perf_counter()
    turn = 0
    while time.perf_counter() < stop_at:
        kind = turn % 3
        turn += 1
        change_began = time.perf_counter()
        if kind == 0 and state["assigned"]:
            case_id = state["assigned"].pop(0)
            index = _expert_index(world, case_id)
            slot = state["slots"][index]
            state["slots"][index] = slot + 1
            services.schedule(
                team.manager, case_id, start=_today_at(30 * slot), room_id=world["rooms"][index].pk
            )
            state["scheduled"].append(case_id)
            made.append("schedule")
        elif kind == 1 and state["scheduled"]:
            case_id = state["scheduled"].pop(0)
            expert = world["experts"][_expert_index(world, case_id)]
            services.start_session(expert, case_id)
            state["in_session"].append(case_id)
            made.append("start_session")
        elif kind == 2 and state["in_session"]:
            case_id = state["in_session"].pop(0)
            expert = world["experts"][_expert_index(world, case_id)]
            services.conclude(expert, case_id, CONCLUSION)
            made.append("conclude")
        timeline.append((change_began, time.perf_counter(), made[-1] if made else "-"))
        next_at += period
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return made


def board_benchmark(world: dict[str, Any], state: dict[str, Any], cache_on: bool) -> dict[str, Any]:
    from telemed.consultations import board
    from telemed.core import events

    board.CACHE_SECONDS = 60 if cache_on else 0
    commits: dict[tuple[int, str], float] = {}

    def stamp(payload: dict[str, Any]) -> None:
        commits[(payload["id"], payload["action"])] = time.time()

    subscribers = events._subscribers["consultation.changed"]
    subscribers.insert(0, stamp)
    sessions = _sessions(world)
    server_ms: list[float] = []
    local = threading.local()

    def started(**kwargs: Any) -> None:
        local.began = time.perf_counter()

    timeline: list[tuple[float, float, str]] = []

    def finished(**kwargs: Any) -> None:
        began = getattr(local, "began", None)
        if began is not None:
            server_ms.append((time.perf_counter() - began) * 1000)
            timeline.append((began, time.perf_counter(), "request"))
            local.began = None

    from django.core.signals import request_finished, request_started

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        with Server() as server:
            config = {
                "port": server.port,
                "sessions": [s["cookie"] for s in sessions],
                "seconds": IDLE_SECONDS + CHANGE_SECONDS + 1,
            }
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.consultations", "viewers"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(json.dumps(config))
            child.stdin.close()
            ready = child.stdout.readline().strip()
            if ready != "READY":
                raise RuntimeError(f"viewers did not connect: {ready!r}")
            time.sleep(IDLE_SECONDS)  # the probe's samples with viewers connected, no changes
            changes_from = time.time()
            made = _changes(world, state, time.perf_counter() + CHANGE_SECONDS, timeline)
            out = child.stdout.read()
            child.wait(timeout=120)
            seen = json.loads(out)
    finally:
        subscribers.remove(stamp)
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    latencies = [
        (received - commits[(case_id, action)]) * 1000
        for case_id, action, received in seen["received"]
        if (case_id, action) in commits
    ]
    shown = [
        (moment - commits[(case_id, action)]) * 1000
        for case_id, action, moment in seen["shown"]
        if (case_id, action) in commits
    ]
    per_kind = {
        kind: sum(1 for s in sessions if s["kind"] == kind)
        for kind in {s["kind"] for s in sessions}
    }
    return {
        "row_cache": cache_on,
        "viewers_connected": seen["connected"],
        "viewers_by_scope": per_kind,
        "changes": len(made),
        "changes_per_s": CHANGES_PER_S,
        "messages_received": len(seen["received"]),
        "board_page_idle": summary_ms([ms for t, ms in seen["probe_page"] if t < changes_from]),
        "board_rows_idle": summary_ms([ms for t, ms in seen["probe_rows"] if t < changes_from]),
        "board_page": summary_ms([ms for t, ms in seen["probe_page"] if t >= changes_from]),
        "board_rows": summary_ms([ms for t, ms in seen["probe_rows"] if t >= changes_from]),
        "viewer_refetch": summary_ms(seen["refetch"]),
        "server_side_request": summary_ms(server_ms),
        "push": summary_ms(latencies),
        "change_to_rows_shown": summary_ms(shown),
        "http_errors": seen["errors"],
        **({"timeline": sorted(timeline)} if os.environ.get("BENCH_TIMELINE") else {}),
    }


# ---------------------------------------------------------------------------------------
# The viewers (a child process; asyncio, no Django).


async def _http_get(port: int, cookie: str, path: str, conn: dict[str, Any]) -> tuple[int, float]:
    """GET over one kept-alive connection; returns (status, milliseconds)."""
    began = time.perf_counter()
    if conn.get("writer") is None:
        conn["reader"], conn["writer"] = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn["reader"], conn["writer"]
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n"
            "Accept: text/html\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and "close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    if close:
        writer.close()
        conn["writer"] = None
    return status, (time.perf_counter() - began) * 1000


async def _viewers(config: dict[str, Any]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    port = config["port"]
    received: list[tuple[int, str, float]] = []
    shown: list[tuple[int, str, float]] = []
    refetch: list[float] = []
    probe_page: list[tuple[float, float]] = []
    probe_rows: list[tuple[float, float]] = []
    errors: list[str] = []
    connected = 0
    all_connected = asyncio.Event()
    stop = asyncio.Event()

    async def viewer(cookie: str) -> None:
        nonlocal connected
        dirty = asyncio.Event()
        conn: dict[str, Any] = {}
        heard: list[tuple[int, str]] = []

        async def fetcher() -> None:
            # As board.js: wait 0.25-1 s after a change (a burst costs one fetch), one fetch
            # in flight at a time.
            while not stop.is_set():
                await dirty.wait()
                await asyncio.sleep(0.25 + random.random() * 0.75)
                dirty.clear()
                covered = list(heard)
                heard.clear()
                try:
                    status, ms = await _http_get(port, cookie, "/board/rows", conn)
                    refetch.append(ms)
                    done = time.time()
                    shown.extend((case_id, action, done) for case_id, action in covered)
                    if status != 200:
                        errors.append(f"rows {status}")
                except Exception as error:
                    errors.append(repr(error))
                    conn["writer"] = None

        async with connect(
            f"ws://127.0.0.1:{port}/ws/board/?lang=zh-hans",
            origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={cookie}"},
            proxy=None,
            open_timeout=30,
        ) as ws:
            connected += 1
            if connected == len(config["sessions"]):
                all_connected.set()
            task = asyncio.create_task(fetcher())
            try:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    except TimeoutError:
                        continue
                    moment = time.time()
                    message = json.loads(raw)
                    if message.get("type") == "changed":
                        key = (message["id"], message.get("action", ""))
                        received.append((*key, moment))
                        if "html" in message:  # the rows come with the message: shown now
                            shown.append((*key, moment))
                        else:  # as the page does without them: fetch the rows
                            heard.append(key)
                            dirty.set()
            finally:
                task.cancel()

    async def probe() -> None:
        await all_connected.wait()
        conn: dict[str, Any] = {}
        cookie = config["sessions"][0]
        while not stop.is_set():
            for path, into in (("/board/", probe_page), ("/board/rows", probe_rows)):
                try:
                    status, ms = await _http_get(port, cookie, path, conn)
                    into.append((time.time(), ms))
                    if status != 200:
                        errors.append(f"probe {path} {status}")
                except Exception as error:
                    errors.append(repr(error))
                    conn["writer"] = None
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(viewer(cookie)) for cookie in config["sessions"]]
    tasks.append(asyncio.create_task(probe()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_connected.wait(), timeout=60)
    print("READY" if all_connected.is_set() else f"ONLY {connected}", flush=True)
    await asyncio.sleep(config["seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connected": connected,
        "received": received,
        "shown": shown,
        "refetch": refetch,
        "probe_page": probe_page,
        "probe_rows": probe_rows,
        "errors": errors[:20],
    }


def viewers_main() -> None:
    config = json.loads(sys.stdin.read())
    result = asyncio.run(_viewers(config))
    sys.stdout.write(json.dumps(result))


# ---------------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection as default_connection

    settings.REQUIRE_SECOND_FACTOR = False  # the viewers' sessions are plain sign-ins
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    connection, original = _own_database()
    results: dict[str, Any] = {"database": default_connection.vendor}
    try:
        world = _world()
        results["cycles"] = cycles_benchmark(world)
        state = _fill_board(world)
        results["board_rows_today"] = BOARD_ROWS
        results["board"] = board_benchmark(world, state, cache_on=True)
        results["board_without_row_cache"] = board_benchmark(world, state, cache_on=False)
    finally:
        _drop_database(connection, original)
    out = Path(__file__).resolve().parent.parent / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "consultations.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__" and sys.argv[1:] == ["viewers"]:
    viewers_main()
