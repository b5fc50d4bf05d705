"""Serve the platform: the ASGI web server, and beside it in the same process the periodic
jobs and the protocol listeners (DICOM, MLLP) the apps register, for the embedded mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from telemed.core import jobs, listeners

logger = logging.getLogger(__name__)


async def serve(
    config: uvicorn.Config, *, with_jobs: bool = True, with_listeners: bool = True
) -> None:
    """Run uvicorn until it stops, with the job runner and the protocol listeners as tasks
    on the same loop."""
    server = uvicorn.Server(config)
    tasks = []
    if with_jobs:
        tasks.append(asyncio.create_task(jobs.run_forever()))
    if with_listeners:
        tasks.extend(asyncio.create_task(_listen(each)) for each in listeners.registered())
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _listen(listener: listeners.Listener) -> None:
    """One protocol listener; one that cannot start (its port taken) is logged and the web
    server and the other listeners go on."""
    try:
        await listener.serve()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("the %s listener stopped", listener.name)


class Command(BaseCommand):
    help = "Serve the platform on PORT (web), printing the address and the demo accounts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--no-jobs",
            action="store_true",
            help="Do not run the periodic jobs here (another process runs them).",
        )
        parser.add_argument(
            "--no-listeners",
            action="store_true",
            help="Do not run the DICOM and MLLP listeners here (other processes run them).",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        no_jobs: bool,
        no_listeners: bool,
        **options: Any,
    ) -> None:
        address = f"http://{host}:{port}/"
        self.stdout.write(f"telemed {settings.VERSION} serving {address}")
        if settings.DEMO_MODE:
            from telemed.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD

            self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
            for account in DEMO_ACCOUNTS:
                self.stdout.write(
                    f"  {account.username:<16} {account.role:<22} {account.institution:<14} {account.what}"
                )
            if not settings.REQUIRE_SECOND_FACTOR:
                self.stdout.write(
                    "Second factor (TOTP) is OFF for this demo; production requires it."
                )
        config = uvicorn.Config(
            "telemed.asgi:application",
            host=host,
            port=port,
            log_level="info",
            lifespan="off",
            ws="websockets-sansio",
        )
        # As uvicorn.run does it (uvloop when installed), with the jobs on the same loop.
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve(config, with_jobs=not no_jobs, with_listeners=not no_listeners))
