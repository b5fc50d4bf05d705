"""``telemed client create --institution CODE``: an OAuth2 client for a hospital system."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemed.accounts.models import ApiClient
from telemed.accounts.services import create_api_client
from telemed.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage API clients of hospital systems (OAuth2 client credentials)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="Create a client; prints client_id and client_secret as JSON"
        )
        create.add_argument(
            "--institution", required=True, help="institution code, e.g. DEMO_COUNTY"
        )
        create.add_argument("--name", default="", help="what the client is, e.g. 'Wuyang HIS'")
        sub.add_parser("list", help="List clients as JSON lines")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            try:
                client = create_api_client(options["institution"], options["name"])
            except DomainError as exc:
                raise CommandError(exc.message) from None
            # The secret is shown once: only its hash is stored.
            self.stdout.write(
                json.dumps({"client_id": client.client_id, "client_secret": client.client_secret})
            )
        else:
            for row in ApiClient.objects.select_related("application", "institution").order_by(
                "created_at"
            ):
                self.stdout.write(
                    json.dumps(
                        {
                            "client_id": row.application.client_id,
                            "name": row.application.name,
                            "institution": row.institution.code,
                            "created_at": row.created_at.isoformat(),
                        },
                        ensure_ascii=False,
                    )
                )
