"""Turnaround alerts: overdue cases reach the managers covering them, once per case."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from telemed.consultations import queries, services
from telemed.consultations.testing import advance, draft
from telemed.core import clock, jobs
from telemed.notifications import sweep
from telemed.notifications.models import Notification


def alerts() -> list[tuple[str, str]]:
    return sorted(
        (n.recipient.username, n.link)
        for n in Notification.objects.filter(kind="overdue").select_related("recipient")
    )


@pytest.fixture
def overdue_world(team, staff, charlie):
    """An emergency submitted 40 minutes ago (target 30), a routine one 40 minutes ago (not
    overdue), and an emergency the expert already answered."""
    start = clock.now()
    with clock.frozen_at(start - dt.timedelta(minutes=40)):
        late = advance(
            team, draft(team, urgency="emergency", patient_name="甲", record="A-1"), "accepted"
        )
        fine = advance(team, draft(team, patient_name="乙", record="A-2"), "submitted")
        answered = advance(
            team, draft(team, urgency="emergency", patient_name="丙", record="A-3"), "assigned"
        )
        services.start_session(team.expert, answered.pk)
    return {"late": late, "fine": fine, "answered": answered, "now": start}


def test_overdue_cases_match_the_managers_queue(team, overdue_world):
    system_wide = set(sweep.overdue_cases().values_list("pk", flat=True))
    assert system_wide == {overdue_world["late"].pk}
    assert system_wide == set(queries.overdue(team.manager).values_list("pk", flat=True))


def test_sweep_alerts_each_manager_once_per_case(team, overdue_world):
    link = f"/consultations/{overdue_world['late'].pk}/"
    assert sweep.sweep_overdue() == 2
    # The province's manager and city A's; not city B's.
    assert alerts() == [("city_a_mgr", link), ("manager", link)]
    note = Notification.objects.filter(kind="overdue").first()
    assert note is not None and overdue_world["late"].number in note.title
    assert "30" in note.body
    assert sweep.sweep_overdue() == 0
    assert len(alerts()) == 2


def test_a_manager_who_read_the_alert_is_not_told_again(team, overdue_world):
    sweep.sweep_overdue()
    Notification.objects.filter(kind="overdue").update(read_at=clock.now())
    assert sweep.sweep_overdue() == 0


def test_a_new_overdue_case_is_alerted_on_the_next_sweep(team, overdue_world):
    sweep.sweep_overdue()
    with clock.frozen_at(overdue_world["now"] + dt.timedelta(days=3, minutes=1)):
        # The routine case is now past its 72 hours.
        assert sweep.sweep_overdue() == 2
    assert {link for _, link in alerts()} == {
        f"/consultations/{overdue_world['late'].pk}/",
        f"/consultations/{overdue_world['fine'].pk}/",
    }


def test_command_runs_one_sweep(team, overdue_world):
    out = io.StringIO()
    call_command("consultations", "sweep-overdue", stdout=out)
    assert "1 overdue cases, 2 new alerts" in out.getvalue()
    out = io.StringIO()
    call_command("consultations", "sweep-overdue", stdout=out)
    assert "0 new alerts" in out.getvalue()


def test_the_sweep_is_a_registered_job():
    assert {job.name: job.every for job in jobs.registered()}["turnaround-sweep"] == 60
