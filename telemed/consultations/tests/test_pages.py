"""The consultation pages, with the Django test client: each page answers its roles and 404s
everyone else, every action form works, bad input and illegal steps come back as messages
on the page (422 / 409), never a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, reverse
from django.utils import timezone

from telemed.accounts.models import Role
from telemed.consultations import services, urls_cases
from telemed.consultations.models import Consultation
from telemed.consultations.testing import CHECKLIST, advance, draft
from telemed.core import clock
from telemed.testing import make_expert, make_user, register, sign_in
from telemed.web.tests.catalog import ensure_compiled


@pytest.fixture(scope="module", autouse=True)
def _catalogue() -> None:
    ensure_compiled()


def state_of(case: Consultation) -> str:
    return Consultation.objects.unscoped("test").get(pk=case.pk).state


def page_of(response: HttpResponse) -> str:
    return response.content.decode()


def next_weekday_at(hour: int, days: int = 7) -> dt.datetime:
    """A weekday some days ahead, at ``hour`` local time (inside the default windows)."""
    day = timezone.localdate() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


REQUEST = {
    "kind": "multidisciplinary",
    "urgency": "urgent",
    "clinical_summary": "胸痛三天，心电图异常。",
    "question": "是否需要介入治疗？",
    "wanted_specialty": "cardiology",
    "disease": "",
    "consent_confirmed": "on",
}


# --- requesting doctor ------------------------------------------------------------------


def test_new_request_from_the_patient_page(client, team, alice_patient):
    sign_in(client, team.requester)
    patient_page = page_of(client.get(f"/patients/{alice_patient.pk}/"))
    assert f'href="/consultations/new/{alice_patient.pk}/"' in patient_page
    form = client.get(f"/consultations/new/{alice_patient.pk}/")
    assert form.status_code == 200
    assert 'data-testid="request-form"' in page_of(form)
    response = client.post(
        f"/consultations/new/{alice_patient.pk}/", {**REQUEST, "intent": "submit"}
    )
    assert response.status_code == 302
    case = Consultation.objects.unscoped("test").get(patient=alice_patient)
    assert response["Location"] == f"/consultations/{case.pk}/"
    assert case.state == "submitted" and case.urgency == "urgent"
    detail = page_of(client.get(response["Location"]))
    assert case.number in detail and 'data-state="submitted"' in detail
    # The list shows it, with the state filter.
    listing = page_of(client.get("/consultations/", {"state": "submitted"}))
    assert case.number in listing
    assert case.number not in page_of(client.get("/consultations/", {"state": "draft"}))


def test_incomplete_submit_keeps_the_draft_and_names_the_fields(client, team, alice_patient):
    sign_in(client, team.requester)
    response = client.post(
        f"/consultations/new/{alice_patient.pk}/",
        {"kind": "multidisciplinary", "urgency": "routine", "intent": "submit"},
    )
    assert response.status_code == 422
    page = page_of(response)
    for field in ("clinical_summary", "question", "wanted_specialty", "consent_confirmed"):
        assert f'data-testid="error-{field}"' in page, field
    case = Consultation.objects.unscoped("test").get(patient=alice_patient)
    assert case.state == "draft"
    # The form now posts to the draft's edit page, so a second try does not make another.
    assert f'action="/consultations/{case.pk}/edit/"' in page
    again = client.post(f"/consultations/{case.pk}/edit/", {**REQUEST, "intent": "submit"})
    assert again.status_code == 302
    assert state_of(case) == "submitted"
    assert Consultation.objects.unscoped("test").filter(patient=alice_patient).count() == 1


def test_save_as_draft_then_submit_from_the_case_page(client, team, alice_patient):
    sign_in(client, team.requester)
    client.post(f"/consultations/new/{alice_patient.pk}/", {**REQUEST, "intent": "save"})
    case = Consultation.objects.unscoped("test").get(patient=alice_patient)
    assert case.state == "draft"
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert 'data-testid="action-submit"' in page and 'data-testid="action-edit"' in page
    assert client.post(f"/consultations/{case.pk}/do/submit/").status_code == 302
    assert state_of(case) == "submitted"


def test_submit_from_the_case_page_when_incomplete_shows_the_form(client, team, alice_patient):
    sign_in(client, team.requester)
    client.post(
        f"/consultations/new/{alice_patient.pk}/",
        {"kind": "multidisciplinary", "urgency": "routine", "intent": "save"},
    )
    case = Consultation.objects.unscoped("test").get(patient=alice_patient)
    response = client.post(f"/consultations/{case.pk}/do/submit/")
    assert response.status_code == 422
    assert 'data-testid="error-question"' in page_of(response)


def test_bad_choices_are_form_errors(client, team, alice_patient):
    sign_in(client, team.requester)
    response = client.post(
        f"/consultations/new/{alice_patient.pk}/",
        {
            **REQUEST,
            "urgency": "whenever",
            "wanted_specialty": "astrology",
            "wanted_expert": "999999",
            "wanted_start": "yesterday",
            "intent": "submit",
        },
    )
    assert response.status_code == 422
    page = page_of(response)
    for field in ("urgency", "wanted_specialty", "wanted_expert", "wanted_start"):
        assert f'data-testid="error-{field}"' in page, field
    assert not Consultation.objects.unscoped("test").exists()


def test_unknown_icd10_code_is_a_field_error(client, team, alice_patient):
    sign_in(client, team.requester)
    response = client.post(
        f"/consultations/new/{alice_patient.pk}/", {**REQUEST, "disease": "Q99.9", "intent": "save"}
    )
    assert response.status_code == 422
    assert 'data-testid="error-disease"' in page_of(response)


def test_named_expert_and_a_free_slot(client, team, alice_patient):
    sign_in(client, team.requester)
    slot = next_weekday_at(9)
    picker = client.get(
        "/consultations/new/experts/",
        {
            "wanted_specialty": "cardiology",
            "wanted_expert": str(team.expert.pk),
            "wanted_day": slot.date().isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    assert picker.status_code == 200
    value = timezone.localtime(slot).isoformat(timespec="minutes")
    assert f'value="{value}"' in page_of(picker)
    response = client.post(
        f"/consultations/new/{alice_patient.pk}/",
        {
            **REQUEST,
            "wanted_expert": str(team.expert.pk),
            "wanted_day": slot.date().isoformat(),
            "wanted_start": value,
            "intent": "save",
        },
    )
    assert response.status_code == 302, page_of(response)
    case = Consultation.objects.unscoped("test").get(patient=alice_patient)
    assert case.wanted_expert_id == team.expert.pk and case.wanted_start == slot


def test_another_patient_or_someone_elses_is_404(client, team, charlie):
    other = register(charlie, "王建国", "B-0001").patient
    sign_in(client, team.requester)
    assert client.get(f"/consultations/new/{other.pk}/").status_code == 404
    assert client.post(f"/consultations/new/{other.pk}/", REQUEST).status_code == 404
    assert client.get("/consultations/new/999999/").status_code == 404


def test_withdraw_needs_a_reason(client, team):
    case = advance(team, draft(team), "submitted")
    sign_in(client, team.requester)
    response = client.post(f"/consultations/{case.pk}/do/withdraw/", {"withdraw-reason": " "})
    assert response.status_code == 422
    assert 'data-testid="error-reason"' in page_of(response)
    assert state_of(case) == "submitted"
    done = client.post(f"/consultations/{case.pk}/do/withdraw/", {"withdraw-reason": "患者已转院"})
    assert done.status_code == 302
    assert state_of(case) == "withdrawn"
    history = page_of(client.get(f"/consultations/{case.pk}/history/"))
    assert "患者已转院" in history


def test_illegal_step_shows_the_409_message(client, team):
    case = advance(team, draft(team), "submitted")
    sign_in(client, team.requester)
    response = client.post(f"/consultations/{case.pk}/do/submit/")
    assert response.status_code == 409
    page = page_of(response)
    assert 'data-testid="error"' in page and case.number in page
    # An action page opened when its step is closed says so too.
    sign_in(client, team.manager)
    response = client.get(f"/consultations/{case.pk}/schedule/")
    assert response.status_code == 409
    assert case.number in page_of(response)


def test_unknown_action_is_404_and_get_is_refused(client, team):
    case = draft(team)
    sign_in(client, team.requester)
    assert client.post(f"/consultations/{case.pk}/do/explode/").status_code == 404
    assert client.get(f"/consultations/{case.pk}/do/submit/").status_code == 405


def test_requester_cannot_triage_and_sees_why(client, team):
    case = advance(team, draft(team), "accepted")
    sign_in(client, team.requester)
    assert (
        client.get(f"/consultations/{case.pk}/triage/").status_code == 404
    )  # not a page of theirs
    response = client.post(f"/consultations/{case.pk}/do/cancel/", {"cancel-reason": "x"})
    assert response.status_code == 403
    assert 'data-testid="error"' in page_of(response)
    assert state_of(case) == "accepted"


# --- quality control --------------------------------------------------------------------


def test_quality_control_returns_and_the_requester_resubmits(client, team):
    case = advance(team, draft(team), "submitted")
    sign_in(client, team.qc)
    queue = page_of(client.get("/consultations/queues/quality-control/"))
    assert case.number in queue
    review = client.get(f"/consultations/{case.pk}/review/")
    assert review.status_code == 200
    assert 'data-testid="check-check_consent_recorded"' in page_of(review)
    # Accepting with required checks unticked, returning without reasons: form errors.
    response = client.post(f"/consultations/{case.pk}/review/", {"decision": "accept"})
    assert response.status_code == 422
    assert "is-invalid" in page_of(response)
    response = client.post(f"/consultations/{case.pk}/review/", {"decision": "return"})
    assert response.status_code == 422
    assert 'data-testid="error-reasons"' in page_of(response)
    response = client.post(f"/consultations/{case.pk}/review/", {"decision": "maybe"})
    assert response.status_code == 422
    assert state_of(case) == "submitted"
    returned = client.post(
        f"/consultations/{case.pk}/review/",
        {"decision": "return", "reasons": "请补充心电图报告", "check_question_clear": "on"},
    )
    assert returned.status_code == 302
    assert state_of(case) == "returned"

    sign_in(client, team.requester)
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert 'data-testid="returned-notice"' in page and "请补充心电图报告" in page
    edit = page_of(client.get(f"/consultations/{case.pk}/edit/"))
    assert "请补充心电图报告" in edit
    resubmitted = client.post(
        f"/consultations/{case.pk}/edit/",
        {**REQUEST, "clinical_summary": "胸痛三天。心电图见附件。", "intent": "submit"},
    )
    assert resubmitted.status_code == 302
    assert state_of(case) == "submitted"

    sign_in(client, team.qc)
    accepted = client.post(
        f"/consultations/{case.pk}/review/",
        {"decision": "accept", **{f"check_{code}": "on" for code in CHECKLIST}},
    )
    assert accepted.status_code == 302
    assert state_of(case) == "accepted"
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert page.count('data-testid="qc-round"') == 2
    # Reviewing again is a closed step now: the page says so with 409.
    again = client.post(
        f"/consultations/{case.pk}/review/",
        {"decision": "accept", **{f"check_{code}": "on" for code in CHECKLIST}},
    )
    assert again.status_code == 409


# --- consultation manager ---------------------------------------------------------------


def test_manager_triages_and_schedules(client, team):
    case = advance(team, draft(team, urgency="emergency"), "accepted")
    sign_in(client, team.manager)
    home = page_of(client.get("/"))
    assert 'data-testid="queue-triage"' in home and case.number in home
    queue = page_of(client.get("/consultations/queues/triage/"))
    assert case.number in queue
    triage = client.get(f"/consultations/{case.pk}/triage/")
    assert triage.status_code == 200
    assert f'data-testid="expert-{team.expert.pk}"' in page_of(triage)
    # Any expert, by search (an htmx fragment).
    found = client.get(
        f"/consultations/{case.pk}/triage/", {"q": "dr_wang"}, headers={"HX-Request": "true"}
    )
    assert found.status_code == 200 and 'data-testid="expert-choice"' in page_of(found)
    # No expert chosen, or one who is not an expert: errors on the page.
    assert client.post(f"/consultations/{case.pk}/triage/", {}).status_code == 422
    bad = client.post(f"/consultations/{case.pk}/triage/", {"expert": team.requester.pk})
    assert bad.status_code == 422
    assert 'data-testid="error-expert"' in page_of(bad)
    assigned = client.post(f"/consultations/{case.pk}/triage/", {"expert": team.expert.pk})
    assert assigned.status_code == 302
    assert assigned["Location"] == f"/consultations/{case.pk}/schedule/"
    assert state_of(case) == "assigned"

    schedule = client.get(assigned["Location"])
    assert schedule.status_code == 200
    page = page_of(schedule)
    assert 'data-testid="schedule-form"' in page and team.room.name in page
    start = next_weekday_at(10)
    bad = client.post(
        assigned["Location"],
        {"day": start.date().isoformat(), "time": "nonsense", "minutes": "5", "room": "999"},
    )
    assert bad.status_code == 422
    past = client.post(
        assigned["Location"],
        {"day": "2001-01-01", "time": "09:00", "minutes": "30", "room": str(team.room.pk)},
    )
    assert past.status_code == 422
    booked = client.post(
        assigned["Location"],
        {
            "day": start.date().isoformat(),
            "time": "10:00",
            "minutes": "45",
            "room": str(team.room.pk),
        },
    )
    assert booked.status_code == 302
    stored = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert stored.state == "scheduled"
    assert stored.scheduled_start == start and stored.room_id == team.room.pk
    assert stored.scheduled_end == start + dt.timedelta(minutes=45)


def test_double_booking_shows_the_clash(client, team):
    start = next_weekday_at(9)
    first = advance(team, draft(team), "scheduled", start=start)
    second = advance(team, draft(team, patient_name="王建国", record="A-0002"), "assigned")
    sign_in(client, team.manager)
    response = client.post(
        f"/consultations/{second.pk}/schedule/",
        {
            "day": start.date().isoformat(),
            "time": "09:15",
            "minutes": "30",
            "room": str(team.room.pk),
        },
    )
    assert response.status_code == 409
    assert first.number in page_of(response)
    assert state_of(second) == "assigned"


def test_manager_reassigns_and_cancels(client, team, network):
    from telemed.testing import make_expert

    other = make_expert("dr_li", network.city_a, network.cardiology)
    case = advance(team, draft(team), "scheduled", start=next_weekday_at(9))
    sign_in(client, team.manager)
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert 'data-testid="action-reassign"' in page and 'data-testid="action-cancel"' in page
    moved = client.post(
        f"/consultations/{case.pk}/triage/",
        {"expert": other.pk, "reason": "王医生出差", "reassign": "True"},
    )
    assert moved.status_code == 302
    stored = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert stored.assigned_expert_id == other.pk and stored.state == "assigned"
    assert client.post(f"/consultations/{case.pk}/do/cancel/", {}).status_code == 422
    cancelled = client.post(f"/consultations/{case.pk}/do/cancel/", {"cancel-reason": "重复申请"})
    assert cancelled.status_code == 302
    assert state_of(case) == "cancelled"


def test_overdue_cases_are_flagged(client, team, settings):
    case = advance(team, draft(team, urgency="emergency"), "accepted")
    sign_in(client, team.manager)
    assert 'data-testid="overdue"' not in page_of(client.get("/consultations/queues/triage/"))
    with clock.frozen_at(clock.now() + dt.timedelta(hours=2)):
        queue = page_of(client.get("/consultations/queues/triage/"))
        assert 'data-testid="overdue"' in queue and "list-group-item-danger" in queue
        overdue = page_of(client.get("/consultations/queues/overdue/"))
        assert case.number in overdue
        home = page_of(client.get("/"))
        assert 'data-testid="stat-overdue">1<' in home


# --- expert -----------------------------------------------------------------------------


def test_expert_concludes_and_the_requester_reads_it(client, team):
    case = advance(team, draft(team), "scheduled", start=next_weekday_at(9))
    sign_in(client, team.expert)
    home = page_of(client.get("/"))
    assert 'data-testid="queue-worklist"' in home and case.number in home
    assert case.number in page_of(client.get("/consultations/worklist/"))
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    for action in ("start_session", "decline", "conclude"):
        assert f'data-testid="action-{action}"' in page, action
    assert client.post(f"/consultations/{case.pk}/do/start_session/").status_code == 302
    assert state_of(case) == "in_session"
    empty = client.post(f"/consultations/{case.pk}/conclusion/", {"icd10_codes": "XYZ"})
    assert empty.status_code == 422
    page = page_of(empty)
    for field in ("findings", "diagnosis", "recommendations", "icd10_codes"):
        assert f'data-testid="error-{field}"' in page, field
    signed = client.post(
        f"/consultations/{case.pk}/conclusion/",
        {
            "findings": "ST段压低",
            "diagnosis": "不稳定型心绞痛",
            "icd10_codes": "I20.0，I25.1",
            "recommendations": "冠脉造影",
        },
    )
    assert signed.status_code == 302
    assert state_of(case) == "concluded"

    sign_in(client, team.requester)
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert 'data-testid="signature-holds" data-holds="true"' in page
    assert "不稳定型心绞痛" in page and "I25.1" in page
    conclusion = case.conclusions.get()
    assert conclusion.text_sha256 in page
    assert 'data-testid="action-close"' in page and 'data-testid="feedback-form"' in page

    sign_in(client, team.expert)
    no_reason = client.post(
        f"/consultations/{case.pk}/amend/",
        {"findings": "f", "diagnosis": "d", "icd10_codes": "I20.0", "recommendations": "r"},
    )
    assert no_reason.status_code == 422
    assert 'data-testid="error-amendment_reason"' in page_of(no_reason)
    assert "不稳定型心绞痛" in page_of(client.get(f"/consultations/{case.pk}/amend/"))
    amended = client.post(
        f"/consultations/{case.pk}/amend/",
        {
            "findings": "ST段压低",
            "diagnosis": "急性冠脉综合征",
            "icd10_codes": "I24.9",
            "recommendations": "尽快冠脉造影",
            "amendment_reason": "复核心电图",
        },
    )
    assert amended.status_code == 302
    sign_in(client, team.requester)
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert page.count('data-testid="conclusion"') == 2
    assert "复核心电图" in page


def test_expert_declines_with_a_reason(client, team):
    case = advance(team, draft(team), "assigned")
    sign_in(client, team.expert)
    assert client.post(f"/consultations/{case.pk}/do/decline/", {}).status_code == 422
    declined = client.post(f"/consultations/{case.pk}/do/decline/", {"decline-reason": "非本专业"})
    assert declined.status_code == 302 and declined["Location"] == "/"
    assert state_of(case) == "declined"
    # Off the case now: its page is a 404 for this expert, and it is back with triage.
    assert client.get(f"/consultations/{case.pk}/").status_code == 404
    sign_in(client, team.manager)
    assert case.number in page_of(client.get("/consultations/queues/triage/"))


def test_conclusion_page_is_closed_before_assignment(client, team):
    case = advance(team, draft(team), "scheduled", start=next_weekday_at(9))
    other = make_user("dr_zhao", Role.EXPERT, team.expert.institution)
    sign_in(client, other)
    assert client.get(f"/consultations/{case.pk}/conclusion/").status_code == 404  # not theirs


# --- everybody on the case --------------------------------------------------------------


def test_feedback_and_close(client, team):
    case = advance(team, draft(team), "concluded", start=next_weekday_at(9))
    sign_in(client, team.requester)
    bad = client.post(f"/consultations/{case.pk}/feedback/", {"rating": "11"})
    assert bad.status_code == 422
    assert 'data-testid="error-rating"' in page_of(bad)
    good = client.post(
        f"/consultations/{case.pk}/feedback/",
        {"rating": "5", "comment": "很有帮助", "follow_up": "患者已行冠脉造影"},
    )
    assert good.status_code == 302
    page = page_of(client.get(f"/consultations/{case.pk}/"))
    assert "患者已行冠脉造影" in page
    assert client.post(f"/consultations/{case.pk}/do/close/").status_code == 302
    assert state_of(case) == "closed"
    history = page_of(client.get(f"/consultations/{case.pk}/history/"))
    actions = re.findall(r'data-testid="event" data-action="(\w+)"', history)
    assert actions == [
        "create",
        "submit",
        "qc_accept",
        "triage",
        "schedule",
        "conclude",
        "feedback",
        "close",
    ]


def test_message_thread(client, team):
    case = draft(team)
    sign_in(client, team.requester)
    htmx = {"HX-Request": "true"}
    refused = client.post(f"/consultations/{case.pk}/messages/", {"body": "早"}, headers=htmx)
    assert refused.status_code == 200  # a draft has no thread yet: nothing is posted
    assert not case.messages.exists()
    advance(team, case, "assigned")
    empty = client.post(f"/consultations/{case.pk}/messages/", {"body": "  "}, headers=htmx)
    assert empty.status_code == 200 and 'data-testid="error-body"' in page_of(empty)
    posted = client.post(
        f"/consultations/{case.pk}/messages/", {"body": "请问需要哪些检查？"}, headers=htmx
    )
    assert posted.status_code == 200 and "请问需要哪些检查？" in page_of(posted)
    sign_in(client, team.expert)
    answer = client.post(f"/consultations/{case.pk}/messages/", {"body": "请做心脏彩超。"})
    assert answer.status_code == 302
    thread = client.get(f"/consultations/{case.pk}/messages/", headers=htmx)
    assert "请问需要哪些检查？" in page_of(thread) and "请做心脏彩超。" in page_of(thread)


# --- scope and roles --------------------------------------------------------------------

CASE_PARAMS = {"consultation_id", "action"}


def test_charlie_gets_404_on_every_page_of_alices_case(client, team, charlie):
    case = advance(team, draft(team), "scheduled", start=next_weekday_at(9))
    sign_in(client, charlie)
    walked = 0
    for pattern in urls_cases.urlpatterns:
        assert isinstance(pattern, URLPattern)
        params = set(re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern)))
        if "consultation_id" not in params:
            continue
        assert params <= CASE_PARAMS, f"give a sample for {params - CASE_PARAMS}"
        kwargs: dict[str, object] = {"consultation_id": case.pk}
        if "action" in params:
            kwargs["action"] = "withdraw"
        url = reverse(f"consultations:{pattern.name}", kwargs=kwargs)
        for response in (client.get(url), client.post(url, {"withdraw-reason": "x"})):
            assert response.status_code in (404, 405), (url, response.status_code)
            assert "张秀英" not in page_of(response)
        walked += 1
    assert walked >= 10
    assert state_of(case) == "scheduled"
    assert case.number not in page_of(client.get("/consultations/"))


def test_bob_at_the_same_county_works_on_alices_request(client, team, bob):
    case = advance(team, draft(team), "submitted")
    sign_in(client, bob)
    assert client.get(f"/consultations/{case.pk}/").status_code == 200
    assert case.number in page_of(client.get("/consultations/"))


EVERYONE = {role for role in Role if role != Role.SYSTEM}
CASE_READERS = {
    Role.REQUESTING_DOCTOR,
    Role.EXPERT,
    Role.QUALITY_CONTROL,
    Role.CONSULTATION_MANAGER,
    Role.SUPERVISOR,
    Role.ADMINISTRATOR,
}
ALLOWED = {
    "/consultations/": CASE_READERS,
    "/consultations/new/": {Role.REQUESTING_DOCTOR},
    "/consultations/queues/quality-control/": {Role.QUALITY_CONTROL},
    "/consultations/queues/triage/": {Role.CONSULTATION_MANAGER},
    "/consultations/queues/scheduling/": {Role.CONSULTATION_MANAGER},
    "/consultations/queues/overdue/": {
        Role.CONSULTATION_MANAGER,
        Role.SUPERVISOR,
        Role.QUALITY_CONTROL,
    },
    "/consultations/worklist/": {Role.EXPERT},
}


@pytest.fixture
def people(network, alice, alice_patient):
    from telemed.testing import make_expert

    return {
        Role.REQUESTING_DOCTOR: alice,
        Role.EXPERT: make_expert("dr_wang", network.province, network.cardiology),
        Role.QUALITY_CONTROL: make_user("qc", Role.QUALITY_CONTROL, network.province),
        Role.CONSULTATION_MANAGER: make_user("mgr", Role.CONSULTATION_MANAGER, network.province),
        Role.PHARMACIST: make_user("pharm", Role.PHARMACIST, network.county_a),
        Role.EDUCATION_MANAGER: make_user("edu", Role.EDUCATION_MANAGER, network.province),
        Role.SUPERVISOR: make_user("sup", Role.SUPERVISOR, network.province),
        Role.ADMINISTRATOR: make_user("admin", Role.ADMINISTRATOR, network.province),
        Role.PATIENT: make_user("pat", Role.PATIENT, network.county_a, patient=alice_patient),
    }


@pytest.mark.parametrize("url", sorted(ALLOWED))
def test_pages_answer_their_roles_only(client, people, url):
    for role in sorted(EVERYONE):
        sign_in(client, people[role])
        response = client.get(url)
        expected = 200 if role in ALLOWED[url] else 404
        assert response.status_code == expected, (url, role)


def test_menus_show_the_queues(client, people):
    expectations = {
        Role.REQUESTING_DOCTOR: ["/consultations/"],
        Role.QUALITY_CONTROL: ["/consultations/queues/quality-control/"],
        Role.CONSULTATION_MANAGER: [
            "/consultations/queues/triage/",
            "/consultations/queues/scheduling/",
        ],
        Role.EXPERT: ["/consultations/worklist/"],
        Role.SUPERVISOR: ["/consultations/queues/overdue/"],
    }
    for role, links in expectations.items():
        sign_in(client, people[role])
        nav = page_of(client.get("/")).split('data-testid="nav-menu"')[1].split("</ul>")[0]
        for link in links:
            assert f'href="{link}"' in nav, (role, link)
    sign_in(client, people[Role.PATIENT])
    assert 'href="/consultations/"' not in page_of(client.get("/"))


def test_home_pages_show_the_real_queues(client, team):
    submitted = advance(team, draft(team), "submitted")
    sign_in(client, team.requester)
    home = page_of(client.get("/"))
    assert submitted.number in home and 'data-testid="count-submitted"' in home
    sign_in(client, team.qc)
    home = page_of(client.get("/"))
    assert 'data-testid="queue-quality-check-total">1<' in home and submitted.number in home
    supervisor = make_user("sup", Role.SUPERVISOR, team.qc.institution)
    sign_in(client, supervisor)
    home = page_of(client.get("/"))
    assert 'data-testid="count-submitted">1<' in home


NASTY = ["", " ", "x" * 5000, "\x00", "<script>alert(1)</script>", "９９", "🙂", "-1", "2026-13-45"]


@pytest.mark.parametrize("value", NASTY)
def test_bad_input_never_500(client, team, value):
    case = advance(team, draft(team), "assigned")
    sign_in(client, team.manager)
    fields = ("expert", "reason", "q", "tier", "day", "time", "minutes", "room")
    data = {field: value for field in fields}
    for url in (f"/consultations/{case.pk}/triage/", f"/consultations/{case.pk}/schedule/"):
        assert client.get(url, data).status_code < 500
        response = client.post(url, data)
        assert response.status_code < 500
        assert "<script>alert(1)</script>" not in page_of(response)
    sign_in(client, team.requester)
    request_fields = (*REQUEST, "wanted_expert", "wanted_day", "wanted_start", "expert_search")
    for url in (f"/consultations/new/{case.patient_id}/", "/consultations/new/experts/"):
        assert client.get(url, dict.fromkeys(request_fields, value)).status_code < 500
    response = client.post(
        f"/consultations/new/{case.patient_id}/", dict.fromkeys(request_fields, value)
    )
    assert response.status_code < 500
    listing = client.get("/consultations/", {"state": value, "q": value, "page": value})
    assert listing.status_code < 500
    sign_in(client, team.expert)
    response = client.post(
        f"/consultations/{case.pk}/conclusion/",
        dict.fromkeys(("findings", "diagnosis", "icd10_codes", "recommendations"), value),
    )
    assert response.status_code < 500


def test_a_triage_page_opened_before_another_managers_triage_answers_409(client, team, network):
    """Manager A opens the triage page; manager B assigns the case; A's submit must not
    silently reassign it."""
    other = make_expert("dr_zhao", network.province, network.cardiology)
    case = advance(team, draft(team), "accepted")
    sign_in(client, team.manager)
    opened = page_of(client.get(f"/consultations/{case.pk}/triage/"))
    assert 'name="reassign"' in opened
    services.triage(team.manager, case.pk, expert_id=team.expert.pk)
    response = client.post(
        f"/consultations/{case.pk}/triage/", {"expert": other.pk, "reassign": "False"}
    )
    assert response.status_code == 409
    stored = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert stored.assigned_expert_id == team.expert.pk
