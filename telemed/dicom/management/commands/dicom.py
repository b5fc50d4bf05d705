"""``telemed dicom listen``: run the DICOM listener alone (when it is not part of
``telemed serve``), until interrupted."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from telemed.dicom import listener


class Command(BaseCommand):
    help = "DICOM node tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="Run the DICOM listener (C-ECHO, C-STORE, C-FIND)")
        listen.add_argument("--host", default=settings.DICOM_BIND_ADDRESS)
        listen.add_argument("--port", type=int, default=settings.DICOM_PORT)
        listen.add_argument("--ae-title", default=settings.DICOM_AE_TITLE)

    def handle(
        self, *args: Any, action: str, host: str, port: int, ae_title: str, **options: Any
    ) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server = listener.start(host, port, ae_title)
        bound = server.server_address
        self.stdout.write(f"DICOM listener {ae_title} on {bound[0]}:{bound[1]}")
        try:
            stop.wait()
        finally:
            server.shutdown()
            self.stdout.write("DICOM listener stopped")
