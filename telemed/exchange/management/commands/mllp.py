"""Run the HL7 v2 MLLP listener alone (at scale, its own process)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from telemed.exchange.mllp import Listener


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP on MLLP_HOST:MLLP_PORT."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.MLLP_PORT)
        parser.add_argument(
            "--reuse-port",
            action="store_true",
            help="Share the port with other listener processes (one per core).",
        )

    def handle(self, *args: Any, host: str, port: int, reuse_port: bool, **options: Any) -> None:
        self.stdout.write(f"MLLP listener on {host}:{port}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(Listener(host, port, reuse_port=reuse_port).serve_forever())
