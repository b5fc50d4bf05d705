from __future__ import annotations

import datetime as dt

from telemed.accounts.models import Role
from telemed.testing import make_user


def test_auditor_filters(client, people, alice, alice_patient):
    client.force_login(people[Role.ADMINISTRATOR])
    page = client.get("/audit/").content.decode()
    assert 'data-testid="events"' in page
    response = client.get("/audit/", {"actor": "alice", "action": "create"})
    assert response.status_code == 200
    assert response.context["pager"].paginator.count == 1
    response = client.get("/audit/", {"patient_id": alice_patient.pk})
    assert response.context["pager"].paginator.count >= 1
    today = dt.date.today()
    response = client.get(
        "/audit/",
        {"since": (today - dt.timedelta(days=1)).isoformat(), "until": today.isoformat()},
    )
    assert response.context["pager"].paginator.count >= 1


def test_bad_filters_are_form_errors(client, people):
    client.force_login(people[Role.ADMINISTRATOR])
    for bad in (
        {"patient_id": "x"},
        {"patient_id": "-1"},
        {"action": "explode"},
        {"since": "2024-13-40"},
        {"since": "2025-02-01", "until": "2025-01-01"},
        {"since": "0001-01-01"},
        {"until": "9999-12-31"},
        {"page": "nope"},
    ):
        response = client.get("/audit/", bad)
        assert response.status_code in (200, 400), bad
    assert client.get("/audit/", {"patient_id": "x"}).status_code == 400


def test_city_supervisor_sees_own_region_events(client, people, network, charlie):
    from telemed.testing import register

    register(charlie, "王建国", "B-0001")  # an event at Luohe's county
    supervisor = people[Role.SUPERVISOR]  # supervises Anyang city
    client.force_login(supervisor)
    response = client.get("/audit/", {"actor": "charlie"})
    assert response.status_code == 200
    assert response.context["pager"].paginator.count == 0


def test_others_get_404(client, network):
    client.force_login(make_user("qc2", Role.QUALITY_CONTROL, network.province))
    assert client.get("/audit/").status_code == 404
