"""The audit chain's cost: appending hash-chained events against plain inserts."""

from __future__ import annotations

import time

EVENTS = 2000


def run() -> dict[str, float | int]:
    from django.db import connection, transaction

    from telemed.audit import services
    from telemed.audit.models import AuditEvent

    start = time.perf_counter()
    for i in range(EVENTS):
        services.record(
            None, "read", object_type="patient", object_id=i, patient_id=i, actor_name="bench"
        )
    chained = time.perf_counter() - start

    columns = "seq, at, actor, role, institution, action, object_type, object_id, outcome, source_ip, channel, detail, prev_hash, hash"
    start = time.perf_counter()
    with connection.cursor() as cursor:
        _create_plain(cursor)
    # One transaction per row, as the chain commits each event on its own.
    for i in range(EVENTS):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO bench_plain ({columns}) VALUES (%s, CURRENT_TIMESTAMP, 'bench', '', '', 'read', "
                "'patient', %s, 'success', '', '', '{}', '', %s)",
                [i, str(i), f"h{i}"],
            )
    plain = time.perf_counter() - start
    verify_start = time.perf_counter()
    problems = list(services.verify_chain())
    verify = time.perf_counter() - verify_start
    assert not problems and AuditEvent.objects.count() >= EVENTS
    return {
        "events": EVENTS,
        "chained_per_s": round(EVENTS / chained),
        "plain_insert_per_s": round(EVENTS / plain),
        "ratio_chained_over_plain_time": round(chained / plain, 2),
        "verify_events_per_s": round(AuditEvent.objects.count() / verify),
    }


def _create_plain(cursor) -> None:  # type: ignore[no-untyped-def]
    """A table shaped like the audit table, without triggers or chain, as the baseline."""
    cursor.execute("CREATE TABLE bench_plain AS SELECT * FROM audit_auditevent WHERE 1 = 0")
