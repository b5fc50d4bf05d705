"""Run one outbound delivery turn now (what the periodic job does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from telemed.exchange import outbound


class Command(BaseCommand):
    help = "Deliver due outbound messages once (signed conclusions to subscribers)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=200)

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        counts = outbound.deliver_due(limit)
        self.stdout.write(
            f"enqueued {counts['enqueued']}, delivered {counts['delivered']}, failed {counts['failed']}"
        )
