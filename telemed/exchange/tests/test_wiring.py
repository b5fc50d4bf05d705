"""The app's wiring: the listener and the delivery job are registered, and the commands run."""

from __future__ import annotations

import io

from django.core.management import call_command

from telemed.core import events, jobs, listeners
from telemed.exchange import outbound


def test_the_listener_the_job_and_the_subscriber_are_registered():
    assert "mllp" in {listener.name for listener in listeners.registered()}
    assert "outbound-delivery" in {job.name for job in jobs.registered()}
    assert outbound.on_consultation_changed in events._in_transaction["consultation.changed"]


def test_the_deliver_command_runs_one_turn(db):
    out = io.StringIO()
    call_command("deliver", stdout=out)
    assert out.getvalue().strip() == "enqueued 0, delivered 0, failed 0"
