"""``telemed storage verify``: read back every recorded blob and report the bad ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemed.storage.base import BlobStatus
from telemed.storage.blobstore import get_blob_store
from telemed.storage.services import verify_blobs


class Command(BaseCommand):
    help = "Blob store tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify",
            help="Re-hash every blob (every copy, with mirrors), repair from good copies, "
            "and exit 1 if any blob is missing or corrupt",
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        store = get_blob_store()
        counts = dict.fromkeys(BlobStatus, 0)
        for sha256, status in verify_blobs(store):
            counts[status] += 1
            if status is BlobStatus.REPAIRED:
                self.stdout.write(f"{sha256}: repaired from a good copy")
            elif not status.ok:
                self.stderr.write(f"{sha256}: {status.value}")
        total = sum(counts.values())
        summary = ", ".join(f"{counts[s]} {s.value}" for s in BlobStatus)
        bad = counts[BlobStatus.MISSING] + counts[BlobStatus.CORRUPT]
        if bad:
            raise CommandError(
                f"{bad} of {total} blob(s) missing or corrupt in {store!r}: {summary}"
            )
        self.stdout.write(f"{total} blob(s) verified in {store!r}: {summary}")
