"""Who is told what, after commit only; email/SMS for urgent matters; the API and the page,
each person's own notifications only."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.db import transaction

from telemed.consultations import services as consultations
from telemed.consultations.testing import CHECKLIST, CONCLUSION, advance, draft
from telemed.notifications import services
from telemed.notifications.models import Notification
from telemed.notifications.recipients import staff_covering
from telemed.testing import make_user, sign_in

NINE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def told(kind: str | None = None) -> dict[str, list[str]]:
    """username -> titles, for the notifications written so far (optionally of one kind)."""
    found: dict[str, list[str]] = {}
    rows = Notification.objects.select_related("recipient").order_by("pk")
    if kind:
        rows = rows.filter(kind=kind)
    for n in rows:
        found.setdefault(n.recipient.username, []).append(n.title)
    return found


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the test's transaction never commits)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def test_notify_writes_after_commit_only(team, commit, alice, bob):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify([alice], "test", "rolled back")
        raise RuntimeError
    assert not Notification.objects.exists()
    commit(lambda: services.notify([alice, alice.pk, bob, None], "test", "hello", link="/x/"))
    assert told() == {"alice": ["hello"], "bob": ["hello"]}
    assert Notification.objects.get(recipient=alice).link == "/x/"


def test_inactive_users_are_skipped(team, commit, alice, bob):
    bob.is_active = False
    bob.save()
    commit(lambda: services.notify([alice, bob], "test", "hello"))
    assert set(told()) == {"alice"}


def test_submission_tells_quality_control_covering_the_requester(team, staff, commit):
    case = draft(team)
    commit(lambda: consultations.submit(team.requester, case.pk))
    # The province's QC and city A's (alice's county is in city A), not city B's.
    assert set(told("consultation.submit")) == {"qc", "city_a_qc"}
    assert case.number in told()["qc"][0]


def test_acceptance_and_decline_tell_the_managers(team, staff, commit):
    case = advance(team, draft(team), "submitted")
    commit(lambda: consultations.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST))
    assert set(told("consultation.qc_accept")) == {"manager", "city_a_mgr"}
    commit(lambda: consultations.triage(team.manager, case.pk, expert_id=team.expert.pk))
    assert set(told("consultation.triage")) == {"dr_wang"}
    commit(lambda: consultations.decline(team.expert, case.pk, "on leave"))
    assert set(told("consultation.decline")) == {"manager", "city_a_mgr"}


def test_return_schedule_and_conclusion_tell_the_requester(team, staff, commit):
    case = advance(team, draft(team), "submitted")
    commit(
        lambda: consultations.quality_check(
            team.qc, case.pk, accept=False, checklist={}, reasons="附件不全"
        )
    )
    assert told("consultation.qc_return") == {"alice": [told()["alice"][0]]}
    commit(lambda: consultations.submit(team.requester, case.pk))
    commit(lambda: consultations.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST))
    commit(lambda: consultations.triage(team.manager, case.pk, expert_id=team.expert.pk))
    commit(lambda: consultations.schedule(team.manager, case.pk, start=NINE, room_id=team.room.pk))
    # The manager scheduled it: the expert and the requester are told, the manager is not.
    assert set(told("consultation.schedule")) == {"alice", "dr_wang"}
    assert "2026-12-01 17:00" in told("consultation.schedule")["alice"][0]  # Asia/Shanghai
    commit(lambda: consultations.conclude(team.expert, case.pk, CONCLUSION))
    assert set(told("consultation.conclude")) == {"alice"}


def test_a_message_tells_everyone_on_the_case_but_its_author(team, commit, bob):
    case = advance(team, draft(team), "assigned")
    commit(lambda: consultations.post_message(team.expert, case.pk, "请补充心电图"))
    assert set(told("consultation.message")) == {"alice"}
    commit(lambda: consultations.post_message(bob, case.pk, "已上传"))
    # bob wrote on the thread: alice requested it, dr_wang is assigned and wrote before.
    assert set(told("consultation.message")) == {"alice", "dr_wang"}
    assert len(told("consultation.message")["alice"]) == 2


def test_no_patient_details_in_notifications(team, staff, commit):
    case = draft(team)
    commit(lambda: consultations.submit(team.requester, case.pk))
    for n in Notification.objects.all():
        assert case.patient.name not in n.title + n.body
        assert n.link == f"/consultations/{case.pk}/"


def test_urgent_cases_go_out_by_email_and_emergencies_also_by_sms(team, staff, commit, caplog):
    caplog.set_level(logging.INFO, logger="telemed.notifications.adapters")
    routine = draft(team, patient_name="甲", record="A-1")
    commit(lambda: consultations.submit(team.requester, routine.pk))
    assert not [r for r in caplog.records if r.name == "telemed.notifications.adapters"]
    urgent = draft(team, urgency="urgent", patient_name="乙", record="A-2")
    commit(lambda: consultations.submit(team.requester, urgent.pk))
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("adapters")]
    assert len(lines) == 2 and all(line.startswith("email to ") for line in lines)
    caplog.clear()
    emergency = draft(team, urgency="emergency", patient_name="丙", record="A-3")
    commit(lambda: consultations.submit(team.requester, emergency.pk))
    lines = sorted(
        r.getMessage().split(" ")[0] for r in caplog.records if r.name.endswith("adapters")
    )
    assert lines == ["email", "email", "sms", "sms"]


def test_adapters_can_be_turned_off_or_replaced(team, commit, alice, settings):
    sent: list[str] = []

    class Gateway:
        def send(self, recipient, title, body, link):
            sent.append(f"{recipient.username}:{title}")

    import sys
    import types

    module = types.ModuleType("fake_gateway")
    module.Gateway = Gateway  # type: ignore[attr-defined]
    sys.modules["fake_gateway"] = module
    settings.NOTIFY_EMAIL_BACKEND = "fake_gateway.Gateway"
    settings.NOTIFY_SMS_BACKEND = "none"
    commit(lambda: services.notify([alice], "test", "急", urgency="emergency"))
    assert sent == ["alice:急"]


def test_staff_covering_agrees_with_scope_for(network, staff, team):
    from telemed.accounts.models import Role, User
    from telemed.accounts.scoping import scope_for
    from telemed.directory.models import Institution

    supervisor = make_user(
        "sup_a", Role.SUPERVISOR, network.province, supervised_region=network.city_a_region
    )
    for institution in Institution.objects.all():
        for role in (Role.QUALITY_CONTROL, Role.CONSULTATION_MANAGER, Role.SUPERVISOR):
            expected = {
                u.pk
                for u in User.objects.filter(role=role)
                if scope_for(u).covers_institution(institution.pk)
            }
            assert {u.pk for u in staff_covering(role, [institution.pk])} == expected
    assert supervisor in staff_covering(Role.SUPERVISOR, [network.county_a.pk])


# The API and the page.


def _notes(alice, bob):
    Notification.objects.create(recipient=alice, kind="t", title="N-old", link="/consultations/1/")
    newer = Notification.objects.create(recipient=alice, kind="t", title="N-newer")
    read = Notification.objects.create(recipient=alice, kind="t", title="N-read")
    services.mark_read(alice, read.pk)
    theirs = Notification.objects.create(recipient=bob, kind="t", title="N-bobs")
    return newer, theirs


def test_api_lists_mine_unread_first(client, alice, bob):
    _notes(alice, bob)
    sign_in(client, alice)
    body = client.get("/api/notifications/").json()
    assert body["unread"] == 2 and body["total"] == 3
    assert [n["title"] for n in body["items"]] == ["N-newer", "N-old", "N-read"]
    assert [n["read"] for n in body["items"]] == [False, False, True]


def test_api_marks_read_and_read_all(client, alice, bob):
    newer, theirs = _notes(alice, bob)
    sign_in(client, alice)
    response = client.post(f"/api/notifications/{newer.pk}/read")
    assert response.status_code == 200 and response.json() == {
        "id": newer.pk,
        "read": True,
        "unread": 1,
    }
    # bob's notification is not alice's to read: 404, and it stays unread.
    assert client.post(f"/api/notifications/{theirs.pk}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post("/api/notifications/read-all").json() == {"marked": 1, "unread": 0}
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    sign_in(client, bob)
    assert [n["title"] for n in client.get("/api/notifications/").json()["items"]] == ["N-bobs"]


def test_api_needs_sign_in(client, db):
    assert client.get("/api/notifications/").status_code == 401
    assert client.post("/api/notifications/read-all").status_code in (401, 403)


def test_page_and_bell(client, alice, bob):
    newer, theirs = _notes(alice, bob)
    sign_in(client, alice)
    home = client.get("/").content.decode()
    assert 'data-testid="notification-bell"' in home
    assert 'data-unread="2"' in home
    page = client.get("/notifications/").content.decode()
    assert page.index("N-newer") < page.index("N-old") < page.index("N-read")
    assert "N-bobs" not in page
    opened = client.post(f"/notifications/{newer.pk}/open")
    assert opened.status_code == 302 and opened["Location"] == "/notifications/"
    old = Notification.objects.get(title="N-old")
    opened = client.post(f"/notifications/{old.pk}/open")
    assert opened["Location"] == "/consultations/1/"
    assert client.post(f"/notifications/{theirs.pk}/open").status_code == 404
    assert client.post("/notifications/read-all").status_code == 302
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=bob, read_at__isnull=True).exists()


def test_offsite_links_are_not_followed(client, alice):
    evil = Notification.objects.create(
        recipient=alice, kind="t", title="x", link="https://evil.example/"
    )
    sign_in(client, alice)
    assert client.post(f"/notifications/{evil.pk}/open")["Location"] == "/notifications/"


def test_json_body_is_not_needed_for_read(client, alice, bob):
    newer, _ = _notes(alice, bob)
    sign_in(client, alice)
    response = client.post(
        f"/api/notifications/{newer.pk}/read", data=json.dumps({}), content_type="application/json"
    )
    assert response.status_code == 200
