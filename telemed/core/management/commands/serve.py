"""Serve the platform: the ASGI web server now, and the listeners and workers that later
parts register (DICOM, MLLP, jobs) in the same process for the embedded mode."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the platform on PORT (web), printing the address and the demo accounts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
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
        uvicorn.run(
            "telemed.asgi:application", host=host, port=port, log_level="info", lifespan="off"
        )
