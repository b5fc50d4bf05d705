"""``telemed fhir_scopes CLIENT_ID system/Patient.rs system/Task.cruds ...``"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemed.core.errors import DomainError
from telemed.fhir.services import grant_scopes


class Command(BaseCommand):
    help = "Set the SMART scopes an API client holds on the FHIR API (replaces its scopes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id")
        parser.add_argument("scopes", nargs="+")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            granted = grant_scopes(options["client_id"], " ".join(options["scopes"]))
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(granted.scopes)
