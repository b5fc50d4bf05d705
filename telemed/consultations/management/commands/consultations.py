"""``telemed consultations sweep-overdue``: one turnaround sweep (``telemed serve`` runs it
every minute; this is for a cron job where jobs run apart from the web servers, and for
operators)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Consultation tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "sweep-overdue",
            help="Alert managers to cases past their turnaround target (once per case)",
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        from telemed.notifications.sweep import overdue_cases, sweep_overdue

        written = sweep_overdue()
        self.stdout.write(
            f"turnaround sweep: {overdue_cases().count()} overdue cases, {written} new alerts"
        )
