"""``telemed edge``: run this installation as a sending hospital's edge gateway.

* ``telemed edge run``: watch ``EDGE_WATCH_DIR``, register slides with the hub, keep the
  connection the hub relays tile requests over, upload files in the window (see
  ``telemed.pathology.edge``; settings in ``edge/config.py``). Runs until stopped; a
  restart resumes every unfinished upload.
* ``telemed edge add CASE FILE``: take one file for a case now, as if dropped in the folder
  (the file is moved into the edge's store), and register it.
* ``telemed edge status``: the edge's slides as JSON lines.

The edge keeps its own database and files: give it its own ``TELEMED_VAR_DIR`` (and run
``telemed migrate`` there once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from telemed.pathology.edge import config as edge_config
from telemed.pathology.edge import intake
from telemed.pathology.edge.agent import Agent
from telemed.pathology.edge.hub import HubClient
from telemed.pathology.edge.models import EdgeSlide

STATUS_FIELDS = (
    "case_number",
    "name",
    "sha256",
    "size",
    "state",
    "reason",
    "hub_slide_id",
    "upload_now",
    "resumed_from",
    "sent_bytes",
)


class Command(BaseCommand):
    help = "Run as a sending hospital's edge gateway (run | add CASE FILE | status)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["run", "add", "status"], nargs="?", default="run")
        parser.add_argument("case", nargs="?")
        parser.add_argument("file", nargs="?")

    def handle(self, *args: Any, action: str, case: str | None, file: str | None, **_: Any) -> None:
        if action == "status":
            for row in EdgeSlide.objects.order_by("pk"):
                self.stdout.write(json.dumps({n: getattr(row, n) for n in STATUS_FIELDS}))
            return
        try:
            config = edge_config.load()
        except Exception as error:
            raise CommandError(str(error)) from error
        if action == "add":
            if not case or not file:
                raise CommandError("telemed edge add CASE FILE")
            taken = intake.ingest(case, Path(file))
            if taken is None:
                raise CommandError(f"refused: see {file}.refused.txt")
            intake.register(taken, HubClient(config))
            self.stdout.write(json.dumps({n: getattr(taken, n) for n in STATUS_FIELDS}))
            return
        logging.getLogger("telemed.pathology").setLevel(logging.INFO)
        self.stdout.write(
            f"telemed edge: watching {config.watch_dir}, hub {config.hub_url}", ending="\n"
        )
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(Agent(config).run())
