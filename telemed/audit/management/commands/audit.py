"""``telemed audit verify``: walk the hash chain and report every break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemed.audit.models import AuditChainHead
from telemed.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="Check that no audit event was edited, deleted or reordered")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        problems = list(verify_chain())
        head = AuditChainHead.objects.filter(pk=1).first()
        count = head.seq if head else 0
        if problems:
            for problem in problems:
                self.stderr.write(f"event {problem.seq}: {problem.problem}")
            raise CommandError(f"audit chain broken: {len(problems)} problem(s) in {count} events")
        self.stdout.write(f"audit chain intact: {count} events, head {head.hash if head else '-'}")
