"""Periodic jobs run by ``telemed serve`` in the embedded mode.

Apps register a job (a plain synchronous function) with how often it runs; ``run_forever``
is an asyncio task beside the web server that runs each due job in a worker thread, so a slow
job never holds up a request. A job that fails is logged and tried again at its next turn.
Where several servers share a cache (Redis), a short lock lets one of them run each turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], object]
    next_at: float = 0.0


_jobs: dict[str, Job] = {}


def register(name: str, every: float, run: Callable[[], object]) -> None:
    """Add (or replace) a job; it first runs one interval after the runner starts."""
    if every <= 0:
        raise ValueError("a job needs a positive interval")
    _jobs[name] = Job(name, every, run)


def registered() -> list[Job]:
    return list(_jobs.values())


def run_job(job: Job, *, exclusive: bool = True) -> bool:
    """Run one job now, in this thread; False when it failed or (``exclusive``) another
    server sharing the cache holds this turn."""
    if exclusive and not cache.add(
        f"telemed-job:{job.name}", "1", timeout=max(1, int(job.every * 0.9))
    ):
        return False
    close_old_connections()
    try:
        job.run()
        return True
    except Exception:
        logger.exception("job %s failed", job.name)
        return False
    finally:
        close_old_connections()


async def run_due(now: float) -> list[str]:
    """Run every job whose time has come; returns the names of those that ran."""
    ran = []
    for job in registered():
        if job.next_at == 0.0:
            job.next_at = now + job.every
            continue
        if now >= job.next_at:
            job.next_at = now + job.every
            if await sync_to_async(run_job, thread_sensitive=False)(job):
                ran.append(job.name)
    return ran


async def run_forever(tick: float = 1.0, stop: asyncio.Event | None = None) -> None:
    """Run the registered jobs until cancelled (or ``stop`` is set)."""
    names = ", ".join(f"{job.name} every {job.every:g}s" for job in registered())
    logger.info("periodic jobs: %s", names or "none")
    while stop is None or not stop.is_set():
        await run_due(time.monotonic())
        await asyncio.sleep(tick)
