"""The escape hatch in the append-only triggers, for the test harness only.

The triggers refuse UPDATE/DELETE/TRUNCATE of audit events unless a purge is permitted on
that connection: on SQLite a connection function ``telemed_audit_purge()`` that Django
registers (so other clients of the file, without it, cannot delete at all); on PostgreSQL
the session setting ``telemed.audit_purge``. Only the test suite permits a purge, so that
Django can empty the tables between browser tests; the platform never does.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver

purge_permitted = False


@receiver(connection_created)
def _prepare_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "telemed_audit_purge", 0, lambda: int(purge_permitted), deterministic=False
        )
    elif connection.vendor == "postgresql" and purge_permitted:
        with connection.cursor() as cursor:
            cursor.execute("SET telemed.audit_purge = 'on'")
