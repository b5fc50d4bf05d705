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

import json
import os
import time
from pathlib import Path
from typing import Any

from bench._board import BOARD_ROWS, board_benchmark, fill_board
from bench._common import (
    _clients,
    _close_pool,
    _drafts,
    _drop_database,
    _own_database,
    _world,
    cycle_plan,
    pct,
)

CYCLES = int(os.environ.get("BENCH_CYCLES", "200"))
WARMUP = 10


def _cycle(
    clients: dict[str, Any],
    case_id: int,
    expert_id: int,
    room_id: int,
    start: str,
    steps: dict[str, list[float]],
) -> None:
    plan = cycle_plan(case_id, expert_id, room_id, start)
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
    # A forked child must not share the parent's pooled connections: it opens its own.
    _close_pool(connections["default"])
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
        state = fill_board(world)
        results["board_rows_today"] = BOARD_ROWS
        results["board"] = board_benchmark(world, state, cache_on=True)
        results["board_without_row_cache"] = board_benchmark(world, state, cache_on=False)
    finally:
        _drop_database(connection, original)
    out = Path(__file__).resolve().parent.parent / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "consultations.json").write_text(json.dumps(results, indent=2))
    return results
