"""ECG pools under load (issue 6's goals on this 2-core machine with PostgreSQL: 50 ECG
submissions/s including analysis; 200 expert sockets in 20 pools with push p99 < 1 s from
submit to every on-duty pool expert; 10 experts racing per ECG: exactly one claim each,
no duplicates, none lost).

(a) submissions: multipart uploads of a 10 s 12-lead WFDB record (500 Hz, a different
    synthetic tracing each time) to ``POST /api/ecg/cases`` through Django's test Client
    (the whole stack in process: middleware, session auth, reading, analysis, blob store,
    case creation, submit step, audit chain, after-commit push routing). One worker, then
    one forked worker process per core. The peer is the analysis alone on the same records
    (what a submission costs beyond measuring the tracing), reported as a ratio.
(b) push: a real uvicorn server (HTTP + WebSockets, in-memory channel layer) in a thread;
    POOLS pools of EXPERTS_PER_POOL on-duty experts each hold ``/ws/ecg/`` open from a child
    process; ECGs are submitted round-robin across the pools at PUSH_RATE per second; the
    latency is from the commit (an event subscriber placed first) to the "new" message at
    each on-duty expert of that ECG's pool. Counts: expected deliveries, delivered, and
    deliveries to experts of other pools (must be 0).
(c) race: RACE_ECGS waiting ECGs; for each, RACERS experts of its pool claim at the same
    instant from threads on their own database connections (a barrier releases them).
    Counts: ECGs claimed exactly once, duplicates (a second winner), lost (no winner), and
    answers other than "taken by".

Every loop is bounded by a count and a time limit (BENCH_* environment variables).
Runs on a database of its own (bench.consultations' helpers): PostgreSQL when
DATABASE_URL is set, SQLite otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench._board import Server
from bench._common import _close_pool, _drop_database, _own_database, pct, summary_ms

SUBMISSIONS = int(os.environ.get("BENCH_ECG_SUBMISSIONS", "200"))
SUBMIT_SECONDS = float(os.environ.get("BENCH_ECG_SUBMIT_SECONDS", "60"))
POOLS = int(os.environ.get("BENCH_ECG_POOLS", "20"))
EXPERTS_PER_POOL = int(os.environ.get("BENCH_ECG_EXPERTS_PER_POOL", "10"))
PUSH_RATE = float(os.environ.get("BENCH_ECG_PUSH_RATE", "10"))
PUSH_SECONDS = float(os.environ.get("BENCH_ECG_PUSH_SECONDS", "10"))
RACE_ECGS = int(os.environ.get("BENCH_ECG_RACE_ECGS", "200"))
RACE_SECONDS = float(os.environ.get("BENCH_ECG_RACE_SECONDS", "120"))
RACERS = 10
VARIANTS = 40
# Which parts run (BENCH_ECG_PARTS=submissions measures (a) alone).
PARTS = tuple(os.environ.get("BENCH_ECG_PARTS", "submissions,push,race").split(","))


def _records() -> list[tuple[dict[str, bytes], Any]]:
    from telemed.ecg.tests.signal_fixtures import synthetic, wfdb_files

    made = []
    for i in range(VARIANTS):
        record, _truth = synthetic(heart_rate=55 + i, seed=i, noise_uv=10.0)
        made.append((wfdb_files(record, name="rec"), record))
    return made


def _world() -> dict[str, Any]:
    from telemed.accounts.models import Role
    from telemed.directory.models import Institution, Tier
    from telemed.ecg.testing import ecg_pool, on_duty
    from telemed.testing import build_network, make_expert, make_user, register

    network = build_network()
    sites = []
    for p in range(POOLS):
        site = Institution.objects.create(
            code=f"TOWN{p:02d}",
            name=f"第{p + 1}乡镇卫生院",
            tier=Tier.TOWNSHIP_CLINIC,
            parent=network.county_a,
            region=network.county_a.region,
        )
        pool = ecg_pool(site, network.province)
        doctor = make_user(f"town{p:02d}", Role.REQUESTING_DOCTOR, site)
        patient = register(doctor, f"患者{p}", f"T{p:02d}-0001").patient
        experts = []
        for e in range(EXPERTS_PER_POOL):
            expert = make_expert(f"ecg{p:02d}_{e}", network.province, network.cardiology)
            on_duty(pool, expert)
            experts.append(expert)
        sites.append({"pool": pool, "doctor": doctor, "patient": patient, "experts": experts})
    return {"network": network, "sites": sites}


# ---------------------------------------------------------------------------------------
# (a) Submissions through the API.


def _client(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _distinct(files: dict[str, bytes], serial: int) -> dict[str, bytes]:
    """The record made one of its own, as every ECG from the field is: a comment line in the
    header and the last sample nudged by 1-1000 digital units (under 25 uV), so that each
    submission stores three new blobs instead of finding the variant's copies."""
    header, data = files["rec.hea"], bytearray(files["rec.dat"])
    last = int.from_bytes(data[-2:], "little", signed=True)
    nudged = last + 1 + serial % 1000 if last < 0 else last - 1 - serial % 1000
    data[-2:] = nudged.to_bytes(2, "little", signed=True)
    return {"rec.hea": header + f"# bench submission {serial}\n".encode(), "rec.dat": bytes(data)}


def _submit(client: Any, patient_id: int, files: dict[str, bytes]) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/api/ecg/cases",
        {
            "patient_id": str(patient_id),
            "files": [SimpleUploadedFile(name, data) for name, data in files.items()],
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"submit answered {response.status_code}: {response.content[:300]!r}")
    return int(response.json()["id"])


def _submissions(
    site: dict[str, Any], records: list[Any], count: int, offset: int
) -> dict[str, Any]:
    client = _client(site["doctor"])
    times: list[float] = []
    deadline = time.perf_counter() + SUBMIT_SECONDS
    began = time.perf_counter()
    for i in range(count):
        if time.perf_counter() > deadline:
            break
        serial = offset + i
        files = _distinct(records[serial % len(records)][0], serial // len(records))
        start = time.perf_counter()
        _submit(client, site["patient"].pk, files)
        times.append((time.perf_counter() - start) * 1000)
    return {"n": len(times), "seconds": time.perf_counter() - began, "ms": times}


def _parallel_submissions(
    world: dict[str, Any], records: list[Any], workers: int
) -> dict[str, Any]:
    from django.db import connection, connections

    connections.close_all()
    # The PostgreSQL pool's connections and threads must not cross the fork.
    _close_pool(connection)
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    gate = context.Event()
    per_worker = max(10, SUBMISSIONS // workers)

    def work(worker: int) -> None:
        try:
            gate.wait(30)
            sites = world["sites"]
            offset = (worker + 1) * 10_000  # serials of its own: no record seen twice
            result = _submissions(sites[(1 + worker) % len(sites)], records, per_worker, offset)
            queue.put((result["n"], None))
        except Exception as error:  # reported by the parent
            queue.put((0, repr(error)))
        finally:
            connections.close_all()

    processes = [context.Process(target=work, args=(w,)) for w in range(workers)]
    for process in processes:
        process.start()
    began = time.perf_counter()
    gate.set()
    results = [queue.get(timeout=SUBMIT_SECONDS + 120) for _ in processes]
    wall = time.perf_counter() - began
    for process in processes:
        process.join(30)
    errors = [error for _, error in results if error]
    if errors:
        raise RuntimeError(f"parallel submissions failed: {errors}")
    total = sum(n for n, _ in results)
    return {
        "workers": workers,
        "submissions": total,
        "wall_seconds": round(wall, 2),
        "per_s": round(total / wall, 1),
    }


def submissions_benchmark(world: dict[str, Any], records: list[Any]) -> dict[str, Any]:
    from telemed.ecg.signal.analysis import analyze

    for files, _record in records[:3]:  # warm-up: imports, first queries
        _submit(_client(world["sites"][0]["doctor"]), world["sites"][0]["patient"].pk, files)
    one = _submissions(world["sites"][0], records, SUBMISSIONS, 0)
    analysis_ms = []
    for i in range(max(VARIANTS, 100)):
        record = records[i % len(records)][1]
        start = time.perf_counter()
        analyze(record)
        analysis_ms.append((time.perf_counter() - start) * 1000)
    workers = max(2, os.cpu_count() or 2)
    parallel = _parallel_submissions(world, records, workers)
    one_rate = one["n"] / one["seconds"]
    analysis_rate = 1000 / (sum(analysis_ms) / len(analysis_ms))
    return {
        "via": "django.test.Client multipart POST /api/ecg/cases, in process",
        "record": "WFDB 12 leads x 10 s at 500 Hz (.hea + .dat, 120 kB)",
        "one_worker": {**summary_ms(one["ms"]), "per_s": round(one_rate, 1)},
        "parallel": parallel,
        "target_per_s": 50,
        "ratio_to_target": round(parallel["per_s"] / 50, 2),
        "peer_analysis_alone": {
            "p50_ms": pct(analysis_ms, 50),
            "p99_ms": pct(analysis_ms, 99),
            "per_s": round(analysis_rate, 1),
        },
        "ratio_submission_to_analysis_alone": round(one_rate / analysis_rate, 3),
    }


# ---------------------------------------------------------------------------------------
# (b) Push to every on-duty expert.


def push_benchmark(world: dict[str, Any], records: list[Any]) -> dict[str, Any]:
    from telemed.core import events
    from telemed.ecg import services

    commits: dict[int, float] = {}

    def stamp(payload: dict[str, Any]) -> None:
        if payload.get("kind") == "ecg" and payload.get("action") == "submit":
            commits[payload["id"]] = time.time()

    subscribers = events._subscribers["consultation.changed"]
    subscribers.insert(0, stamp)
    pool_of: dict[str, int] = {}
    sessions = []
    for index, site in enumerate(world["sites"]):
        for expert in site["experts"]:
            cookie = _client(expert).cookies["sessionid"].value
            sessions.append(cookie)
            pool_of[cookie] = index
    made: dict[int, int] = {}
    try:
        with Server() as server:
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.ecg_load", "sockets"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            assert child.stdin is not None and child.stdout is not None
            config = {"port": server.port, "sessions": sessions, "seconds": PUSH_SECONDS + 5}
            child.stdin.write(json.dumps(config))
            child.stdin.close()
            ready = child.stdout.readline().strip()
            if ready != "READY":
                raise RuntimeError(f"expert sockets did not connect: {ready!r}")
            period, next_at = 1 / PUSH_RATE, time.perf_counter()
            stop_at = next_at + PUSH_SECONDS
            turn = 0
            while time.perf_counter() < stop_at:
                site_index = turn % len(world["sites"])
                site = world["sites"][site_index]
                files = records[turn % len(records)][0]
                case = services.submit_ecg(site["doctor"], site["patient"], files, main="rec.hea")
                made[case.pk] = site_index
                turn += 1
                next_at += period
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            seen = json.loads(child.stdout.read())
            child.wait(timeout=60)
    finally:
        subscribers.remove(stamp)
    latencies, wrong = [], 0
    for cookie_index, case_id, received in seen["received"]:
        pool = pool_of[sessions[cookie_index]]
        if made.get(case_id) != pool:
            wrong += 1
            continue
        if case_id in commits:
            latencies.append((received - commits[case_id]) * 1000)
    expected = len(made) * EXPERTS_PER_POOL
    return {
        "sockets_connected": seen["connected"],
        "pools": len(world["sites"]),
        "experts_per_pool": EXPERTS_PER_POOL,
        "ecgs_submitted": len(made),
        "rate_per_s": PUSH_RATE,
        "deliveries_expected": expected,
        "deliveries": len(latencies),
        "deliveries_to_other_pools": wrong,
        "push": summary_ms(latencies),
        "target_p99_ms": 1000,
        "ratio_p99_to_target": round((pct(latencies, 99) or 0) / 1000, 3),
    }


async def _sockets(config: dict[str, Any]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    received: list[tuple[int, int, float]] = []
    connected = 0
    ready = asyncio.Event()
    stop = asyncio.Event()

    async def expert(index: int, cookie: str) -> None:
        nonlocal connected
        url = f"ws://127.0.0.1:{config['port']}/ws/ecg/"
        async with connect(
            url,
            origin=f"http://127.0.0.1:{config['port']}",  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={cookie}"},
            proxy=None,
            open_timeout=30,
        ) as socket:
            json.loads(await socket.recv())  # hello
            connected += 1
            if connected == len(config["sessions"]):
                ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                message = json.loads(raw)
                if message.get("type") == "new":
                    received.append((index, message["row"]["id"], time.time()))

    tasks = [asyncio.ensure_future(expert(i, c)) for i, c in enumerate(config["sessions"])]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), timeout=60)
    print("READY" if ready.is_set() else f"ONLY {connected}", flush=True)
    await asyncio.sleep(config["seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"connected": connected, "received": received}


# ---------------------------------------------------------------------------------------
# (c) Ten experts racing per ECG.


def race_benchmark(world: dict[str, Any], records: list[Any]) -> dict[str, Any]:
    from django.db import connections

    from telemed.consultations.models import Consultation
    from telemed.ecg import services

    site = world["sites"][0]
    racers = site["experts"][:RACERS]
    cases = []
    deadline = time.perf_counter() + RACE_SECONDS
    for i in range(RACE_ECGS):
        if time.perf_counter() > deadline - RACE_SECONDS / 2:
            break  # half of the time for making the ECGs at most
        files = records[i % len(records)][0]
        cases.append(services.submit_ecg(site["doctor"], site["patient"], files, main="rec.hea").pk)
    connections.close_all()
    outcome: dict[int, list[object]] = {}
    barrier = threading.Barrier(RACERS + 1)
    lock = threading.Lock()
    current: dict[str, int] = {}
    finished = threading.Event()

    def racer(expert: Any) -> None:
        try:
            while True:
                barrier.wait(timeout=60)
                if finished.is_set():
                    return
                case_id = current["id"]
                try:
                    result: object = services.claim(expert, case_id)
                except Exception as error:
                    result = error
                with lock:
                    outcome.setdefault(case_id, []).append(result)
                barrier.wait(timeout=60)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(e,)) for e in racers]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    raced = 0
    for case_id in cases:
        if time.perf_counter() > deadline:
            break
        current["id"] = case_id
        barrier.wait(timeout=60)  # release the racers together
        barrier.wait(timeout=60)  # all of them answered
        raced += 1
    seconds = time.perf_counter() - began
    finished.set()
    barrier.wait(timeout=60)
    for thread in threads:
        thread.join(30)
    connections.close_all()
    claimed_once = duplicates = lost = other = 0
    for case_id in cases[:raced]:
        results = outcome.get(case_id, [])
        wins = sum(isinstance(r, Consultation) for r in results)
        taken = sum(isinstance(r, services.Taken) for r in results)
        other += len(results) - wins - taken
        claimed_once += wins == 1
        duplicates += max(0, wins - 1)
        lost += wins == 0
    saved = Consultation.objects.unscoped("bench").filter(pk__in=cases[:raced], state="assigned")
    return {
        "ecgs": raced,
        "racers_per_ecg": RACERS,
        "claimed_exactly_once": claimed_once,
        "duplicates": duplicates,
        "lost": lost,
        "answers_other_than_taken": other,
        "assigned_in_database": saved.count(),
        "races_per_s": round(raced / seconds, 1) if seconds else None,
    }


def run() -> dict[str, Any]:
    from django.conf import settings

    settings.REQUIRE_SECOND_FACTOR = False  # sessions made with force_login, as in the tests
    connection, original = _own_database()
    try:
        records = _records()
        world = _world()
        results: dict[str, Any] = {"database": connection.vendor}
        if "submissions" in PARTS:
            results["submissions"] = submissions_benchmark(world, records)
        if "push" in PARTS:
            results["push"] = push_benchmark(world, records)
        if "race" in PARTS:
            results["race"] = race_benchmark(world, records)
        return results
    finally:
        _drop_database(connection, original)


if __name__ == "__main__" and sys.argv[1:] == ["sockets"]:
    print(json.dumps(asyncio.run(_sockets(json.loads(sys.stdin.read())))), flush=True)
