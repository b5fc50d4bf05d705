"""Full consultation cycles over real HTTP (issue 3's throughput goal, measured end to end).

``bench/consultations.py`` drives the JSON API through Django's in-process test client; this
one sends the same five requests per cycle (submit -> quality-control accept -> triage ->
schedule -> sign the conclusion) over kept-alive HTTP/1.1 connections to uvicorn, run as
`telemed serve` would be at scale: ``--workers`` processes (one per core by default) with
uvloop and httptools, session cookies and CSRF as a browser sends them. The load generator
(asyncio, raw sockets) shares the cores with the server and the database, as everything does
on this machine.

Bounded: BENCH_HTTP_CYCLES cycles (default 300) by BENCH_HTTP_USERS concurrent requesters
(default 8, each with an expert and a room of their own), and a time limit.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _common as in_process

CYCLES = int(os.environ.get("BENCH_HTTP_CYCLES", "300"))
USERS = int(os.environ.get("BENCH_HTTP_USERS", "8"))
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", str(max(2, os.cpu_count() or 2))))
TIME_LIMIT_S = 300.0
STEPS = ("submit", "qc_accept", "triage", "schedule", "conclude")


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{s.get('USER') or 'postgres'}@{host}:{port}/{s['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REQUIRE_SECOND_FACTOR": "false",
        "DJANGO_SETTINGS_MODULE": "telemed.settings",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "telemed.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(
                    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                if b" 200 " in probe.recv(200):
                    return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("uvicorn did not come up")


class Connection:
    """One kept-alive HTTP/1.1 connection with a signed-in session and a CSRF token."""

    def __init__(self, port: int, session: str) -> None:
        self.port, self.session = port, session
        self.csrf = secrets.token_hex(16)  # an unmasked 32-character secret
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = json.dumps(body).encode()
        self.writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Cookie: sessionid={self.session}; csrftoken={self.csrf}\r\n"
                f"X-CSRFToken: {self.csrf}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data
        )
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _requester(
    port: int,
    sessions: dict[str, str],
    cases: list[int],
    expert_id: int,
    room_id: int,
    user: int,
    steps: dict[str, list[float]],
    deadline: float,
) -> int:
    connections = {role: Connection(port, cookie) for role, cookie in sessions.items()}
    done = 0
    try:
        for i, case_id in enumerate(cases):
            if time.monotonic() > deadline:
                break
            # Each requester books its own expert and room on a day of its own.
            start = f"2032-{1 + user:02d}-{1 + i // 16:02d}T{8 + (i % 16) // 2:02d}:{30 * (i % 2):02d}:00+08:00"
            for name, role, path, body in in_process.cycle_plan(case_id, expert_id, room_id, start):
                began = time.perf_counter()
                status, content = await connections[role].post(path, body)
                steps[name].append((time.perf_counter() - began) * 1000)
                if status != 200:
                    raise RuntimeError(f"{name} answered {status}: {content[:300]!r}")
            done += 1
    finally:
        for connection in connections.values():
            connection.close()
    return done


def _sessions(world: dict[str, Any], expert: Any) -> dict[str, str]:
    from django.test import Client

    team = world["team"]
    cookies = {}
    for role, person in (
        ("requester", team.requester),
        ("qc", team.qc),
        ("manager", team.manager),
        ("expert", expert),
    ):
        client = Client()
        client.force_login(person)
        cookies[role] = client.cookies["sessionid"].value
    return cookies


async def _load(port: int, world: dict[str, Any], slices: list[list[int]]) -> dict[str, Any]:
    steps: dict[str, list[float]] = {name: [] for name in STEPS}
    deadline = time.monotonic() + TIME_LIMIT_S
    began = time.perf_counter()
    done = await asyncio.gather(
        *(
            _requester(
                port,
                world["sessions"][user],
                slices[user],
                world["experts"][user].pk,
                world["rooms"][user].pk,
                user,
                steps,
                deadline,
            )
            for user in range(len(slices))
        )
    )
    elapsed = time.perf_counter() - began
    cycles = sum(done)
    return {
        "cycles": cycles,
        "seconds": round(elapsed, 2),
        "cycles_per_s": round(cycles / elapsed, 1),
        "requests_per_s": round(5 * cycles / elapsed, 1),
        "step_p50_ms": {k: in_process.pct(v, 50) for k, v in steps.items()},
        "step_p99_ms": {k: in_process.pct(v, 99) for k, v in steps.items()},
    }


def run() -> dict[str, Any]:
    from django.db import connection as default_connection

    users = min(USERS, in_process.EXPERTS)
    connection, original = in_process._own_database()
    results: dict[str, Any] = {
        "database": default_connection.vendor,
        "via": f"HTTP/1.1 keep-alive to uvicorn --workers {WORKERS} (uvloop, httptools), "
        f"{users} concurrent requesters, session cookies and CSRF",
        "requests_per_cycle": 5,
    }
    server = None
    try:
        world = in_process._world()
        per_user = max(4, CYCLES // users)
        warm = [in_process._drafts(world["team"].requester, 3, f"W{u}") for u in range(users)]
        slices = [
            in_process._drafts(world["team"].requester, per_user, f"H{u}") for u in range(users)
        ]
        world["sessions"] = [_sessions(world, world["experts"][u]) for u in range(users)]
        default_connection.close()
        port = _free_port()
        server = _start_server(port)
        asyncio.run(_load(port, world, warm))  # every worker process warms up
        results["cycles"] = asyncio.run(_load(port, world, slices))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        in_process._drop_database(connection, original)
    return results
