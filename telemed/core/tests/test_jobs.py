"""The periodic job runner and `telemed serve` running it beside the web server."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
import uvicorn
from django.core.cache import cache

from telemed.core import jobs, listeners
from telemed.core.management.commands.serve import serve
from telemed.notifications.testing import run_async


@pytest.fixture(autouse=True)
def _no_database(monkeypatch):
    # The jobs here touch no database; the runner's connection hygiene is not under test.
    monkeypatch.setattr(jobs, "close_old_connections", lambda: None)


def test_job_runner_runs_due_jobs_once_per_turn():
    ran: list[str] = []
    job = jobs.Job("test-job", 60, lambda: ran.append("x"))
    cache.delete("telemed-job:test-job")
    assert jobs.run_job(job)
    # Another server (sharing the cache) tried the same turn: it does not run it again.
    assert not jobs.run_job(job)
    assert jobs.run_job(job, exclusive=False)
    assert ran == ["x", "x"]
    cache.delete("telemed-job:test-job")


def test_run_due_waits_one_interval_and_survives_failures(monkeypatch):
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        jobs,
        "_jobs",
        {
            "ok": jobs.Job("ok", 10, lambda: ran.append("ok")),
            "bad": jobs.Job("bad", 10, boom),
        },
    )
    cache.delete_many(["telemed-job:ok", "telemed-job:bad"])

    async def scenario() -> None:
        assert await jobs.run_due(100.0) == []  # first tick: scheduled, not run
        assert await jobs.run_due(105.0) == []
        assert await jobs.run_due(110.0) == ["ok"]  # "bad" failed, logged, not fatal
        assert await jobs.run_due(115.0) == []

    run_async(scenario)
    assert ran == ["ok"]
    cache.delete_many(["telemed-job:ok", "telemed-job:bad"])


def test_serve_runs_the_jobs_and_listeners_beside_the_web_server(monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(jobs, "_jobs", {"tick": jobs.Job("tick", 0.05, lambda: ran.append("t"))})

    async def broken() -> None:
        raise OSError("address already in use")

    async def listening() -> None:
        ran.append("listener")
        await asyncio.Event().wait()  # until cancelled

    # A listener that cannot start does not take the web server or the others down.
    monkeypatch.setattr(
        listeners,
        "_listeners",
        {"broken": listeners.Listener("broken", broken), "ok": listeners.Listener("ok", listening)},
    )
    cache.delete("telemed-job:tick")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        "telemed.asgi:application", host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )

    async def scenario() -> None:
        task = asyncio.create_task(serve(config))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if "t" in ran:
                break
        # The web server answers meanwhile.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status = await reader.readline()
        writer.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert status.startswith(b"HTTP/1.1 ")

    monkeypatch.setattr(jobs, "run_job", lambda job, exclusive=True: (job.run(), True)[1])
    run_async(scenario)
    assert "t" in ran and "listener" in ran
