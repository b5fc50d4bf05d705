"""(b) and (c) of ``bench/consultations.py``: the board under VIEWERS connected viewers while
cases change, and push latency from commit to each viewer."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench._common import EXPERTS, _drafts, summary_ms

VIEWERS = int(os.environ.get("BENCH_VIEWERS", "50"))
CHANGE_SECONDS = float(os.environ.get("BENCH_CHANGE_SECONDS", "15"))
CHANGES_PER_S = float(os.environ.get("BENCH_CHANGES_PER_S", "4"))
IDLE_SECONDS = 3.0
BOARD_ROWS = 100  # a busy day: the source reports 108 consultations on one day


def _today_at(minutes: int) -> Any:
    import datetime as dt

    from django.utils import timezone

    base = dt.datetime.combine(
        timezone.localdate(), dt.time(7, 0), tzinfo=timezone.get_current_timezone()
    )
    return base + dt.timedelta(minutes=minutes)


def fill_board(world: dict[str, Any]) -> dict[str, Any]:
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
                [sys.executable, "-m", "bench._viewers"],
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
