from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def test_no_migration_is_missing(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
