from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from telemed.audit import protection
from telemed.audit import services as audit
from telemed.audit.models import AuditEvent
from telemed.core import context


def _events(n: int) -> None:
    for i in range(n):
        audit.record(None, "read", object_type="patient", object_id=i, actor_name="tester")


@pytest.fixture
def enforced():
    """The triggers as production has them (the suite otherwise permits purges)."""
    protection.purge_permitted = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET telemed.audit_purge = 'off'")
    yield
    protection.purge_permitted = True
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET telemed.audit_purge = 'on'")


def _raw(sql: str, params: list[str | int]) -> None:
    """Tamper with the table the way an attacker who also disabled the triggers would (the
    suite's purge permit stands in for dropping them)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out, stderr=out)
    return out.getvalue()


def test_it_chains_events(db):
    _events(3)
    first, second, third = AuditEvent.objects.order_by("seq")
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert "intact: 3 events" in _verify()


def test_it_records_the_source_address(db):
    token = context.set_current(context.RequestMeta(source_ip="10.1.2.3", channel="api"))
    try:
        event = audit.record(None, "read", object_type="patient", actor_name="x")
    finally:
        context.reset(token)
    assert (event.source_ip, event.channel) == ("10.1.2.3", "api")


def test_the_database_refuses_update_and_delete(db, enforced):
    _events(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(outcome="denied")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    assert AuditEvent.objects.count() == 2


def test_verify_detects_an_edit(db):
    _events(3)
    _raw("UPDATE audit_auditevent SET actor = %s WHERE seq = %s", ["mallory", 2])
    with pytest.raises(CommandError, match="broken"):
        _verify()


def test_verify_detects_a_deleted_event(db):
    _events(4)
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    problems = list(audit.verify_chain())
    assert any("missing" in p.problem for p in problems)


def test_verify_detects_a_deleted_tail(db):
    _events(3)
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [3])
    assert any("tail" in p.problem for p in audit.verify_chain())


def test_verify_detects_a_rehashed_edit(db):
    """Recomputing the edited event's own hash still breaks the link to the next one."""
    _events(3)
    event = AuditEvent.objects.get(seq=2)
    event.actor = "mallory"
    _raw(
        "UPDATE audit_auditevent SET actor = %s, hash = %s WHERE seq = %s",
        ["mallory", event.compute_hash(), 2],
    )
    assert any(p.seq == 3 for p in audit.verify_chain())
