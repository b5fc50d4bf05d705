"""``telemed demo``: load the demo network and its sign-in accounts (safe to run again)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from telemed.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from telemed.demo.network import load_demo


class Command(BaseCommand):
    help = "Load a demo provincial network with synthetic patients and one account per role."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        load_demo(stdout=self.stdout)
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<16} {account.role:<22} {account.what}")
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")
