from __future__ import annotations

import datetime as dt

import pytest

from telemed.audit.models import AuditEvent
from telemed.audit.services import verify_chain
from telemed.consultations import queries, services, signing
from telemed.consultations.models import ConsultationEvent
from telemed.consultations.testing import CHECKLIST, CONCLUSION, advance, draft
from telemed.core.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from telemed.patients import queries as patient_queries

NINE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_draft_to_signed_conclusion(team):
    case = advance(team, draft(team), "closed")
    assert case.state == "closed"
    actions = [
        e.action
        for e in ConsultationEvent.objects.visible_to(team.manager).filter(consultation=case)
    ]
    assert actions == ["create", "submit", "qc_accept", "triage", "schedule", "conclude", "close"]
    conclusion = case.conclusions.get()
    assert signing.signature_holds(conclusion) and conclusion.signed_by == team.expert
    assert "I20.0" in conclusion.signed_text and case.number in conclusion.signed_text
    audited = AuditEvent.objects.filter(
        object_type="consultation", object_id=str(case.pk), action="update"
    )
    assert audited.count() == 6
    assert list(verify_chain()) == []


def test_qc_return_and_resubmit_keeps_every_round(team):
    case = draft(team)
    services.submit(team.requester, case.pk)
    with pytest.raises(ValidationFailed):
        services.quality_check(team.qc, case.pk, accept=False, checklist={}, reasons="  ")
    services.quality_check(
        team.qc, case.pk, accept=False, checklist={"question_clear": False}, reasons="问题不明确"
    )
    services.edit(
        team.requester, case.pk, services.Request(question="是否行PCI？", fields_set={"question"})
    )
    services.submit(team.requester, case.pk)
    case = services.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST)
    rounds = list(case.quality_checks.values_list("round", "outcome"))
    assert rounds == [(1, "returned"), (2, "accepted")]
    assert case.state == "accepted"


def test_submit_needs_a_complete_request(team):
    case = draft(team)
    services.edit(
        team.requester,
        case.pk,
        services.Request(
            consent_confirmed=False, question="", fields_set={"consent_confirmed", "question"}
        ),
    )
    with pytest.raises(ValidationFailed) as raised:
        services.submit(team.requester, case.pk)
    fields = raised.value.details["fields"]
    assert isinstance(fields, dict) and set(fields) == {"consent_confirmed", "question"}
    assert queries.get(team.requester, case.pk).state == "draft"


def test_submit_records_the_patients_consent(team):
    case = draft(team)
    services.submit(team.requester, case.pk)
    assert patient_queries.current_consents(case.patient)["telemedicine"] is True


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("draft", "qc"),
        ("submitted", "triage"),
        ("accepted", "conclude"),
        ("concluded", "triage"),
        ("closed", "submit"),
        ("assigned", "qc"),
    ],
)
def test_illegal_steps_are_409_with_a_sentence(team, state, action):
    case = draft(team) if state == "draft" else advance(team, draft(team), state)
    before = case.state
    attempts = {
        "qc": lambda: services.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST),
        "triage": lambda: services.triage(team.manager, case.pk, expert_id=team.expert.pk),
        "conclude": lambda: services.conclude(team.expert, case.pk, CONCLUSION),
        "submit": lambda: services.submit(team.requester, case.pk),
    }
    with pytest.raises((InvalidTransition, PermissionDenied, NotFound)) as raised:
        attempts[action]()
    if isinstance(raised.value, InvalidTransition):
        assert case.number in raised.value.message
    assert queries.get(team.manager, case.pk).state == before


def test_only_the_assigned_expert_concludes(team, network):
    from telemed.testing import make_expert

    other = make_expert("dr_li", network.province, network.cardiology)
    case = advance(team, draft(team), "assigned")
    with pytest.raises(NotFound):
        services.conclude(other, case.pk, CONCLUSION)  # not assigned: cannot even see it


def test_requester_cannot_triage(team):
    case = advance(team, draft(team), "accepted")
    with pytest.raises(PermissionDenied):
        services.triage(team.requester, case.pk, expert_id=team.expert.pk)


def test_other_county_cannot_see_the_case(team, charlie):
    case = draft(team)
    with pytest.raises(NotFound):
        queries.get(charlie, case.pk)
    with pytest.raises(NotFound):
        services.withdraw(charlie, case.pk, "mine now")
    assert AuditEvent.objects.filter(actor="charlie", outcome="denied").exists()


def test_expert_sees_the_patient_only_while_assigned(team):
    case = advance(team, draft(team), "assigned")
    assert patient_queries.get_patient(team.expert, case.patient_id)
    services.decline(team.expert, case.pk, "不在我的专业范围")
    with pytest.raises(NotFound):
        patient_queries.get_patient(team.expert, case.patient_id)
    assert queries.get(team.manager, case.pk).state == "declined"
    assert case.pk in [c.pk for c in queries.triage_queue(team.manager)]


def test_double_booking_names_the_clash(team):
    first = advance(team, draft(team), "scheduled", start=NINE)
    second = advance(team, draft(team, patient_name="王建国", record="A-0002"), "assigned")
    with pytest.raises(Conflict) as raised:
        services.schedule(
            team.manager, second.pk, start=NINE + dt.timedelta(minutes=15), room_id=team.room.pk
        )
    assert first.number in raised.value.message
    case = services.schedule(
        team.manager, second.pk, start=NINE + dt.timedelta(minutes=30), room_id=team.room.pk
    )
    assert case.state == "scheduled"


def test_signed_conclusion_is_amended_not_changed(team):
    case = advance(team, draft(team), "concluded")
    with pytest.raises(ValidationFailed):
        services.amend(team.expert, case.pk, CONCLUSION)  # no reason
    amended = services.amend(
        team.expert,
        case.pk,
        signing.ConclusionDraft(
            findings=CONCLUSION.findings,
            diagnosis="急性非ST段抬高型心肌梗死",
            icd10_codes=("I21.4",),
            recommendations=CONCLUSION.recommendations,
            amendment_reason="肌钙蛋白结果回报",
        ),
    )
    first = case.conclusions.get(version=1)
    assert amended.version == 2 and amended.supersedes == first
    assert signing.signature_holds(first) and signing.signature_holds(amended)
    assert first.diagnosis == "不稳定型心绞痛"


def test_conclusion_validates_icd10(team):
    case = advance(team, draft(team), "assigned")
    bad = signing.ConclusionDraft(
        findings="x", diagnosis="y", icd10_codes=("not-a-code",), recommendations="z"
    )
    with pytest.raises(ValidationFailed):
        services.conclude(team.expert, case.pk, bad)


def test_worklists_put_emergencies_first(team):
    routine = advance(team, draft(team), "assigned")
    emergency = advance(
        team, draft(team, urgency="emergency", patient_name="王建国", record="A-0002"), "assigned"
    )
    assert [c.pk for c in queries.expert_worklist(team.expert)] == [emergency.pk, routine.pk]


def test_overdue_after_the_target(team, settings):
    from telemed.core import clock

    case = advance(team, draft(team, urgency="emergency"), "accepted")
    assert list(queries.overdue(team.manager)) == []
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=31)):
        assert [c.pk for c in queries.overdue(team.manager)] == [case.pk]


def test_messages_and_first_response(team):
    case = advance(team, draft(team), "assigned")
    services.post_message(team.requester, case.pk, "请问需要补充哪些检查？")
    services.post_message(team.expert, case.pk, "请补充心肌酶。")
    case = queries.get(team.manager, case.pk)
    assert case.first_response_at is not None
    assert [m.body for m in case.messages.all()] == ["请问需要补充哪些检查？", "请补充心肌酶。"]


def test_feedback_after_conclusion(team):
    case = advance(team, draft(team), "assigned")
    with pytest.raises(PermissionDenied):
        services.give_feedback(team.requester, case.pk, rating=5)
    services.conclude(team.expert, case.pk, CONCLUSION)
    services.give_feedback(
        team.requester, case.pk, rating=5, comment="很有帮助", follow_up="已转诊"
    )
    assert case.feedback.get().rating == 5


def test_a_refused_step_is_audited_even_though_it_rolls_back(team):
    case = advance(team, draft(team), "accepted")
    with pytest.raises(PermissionDenied):
        services.triage(team.requester, case.pk, expert_id=team.expert.pk)
    denied = AuditEvent.objects.filter(
        actor=team.requester.username, outcome="denied", object_id=str(case.pk)
    )
    assert denied.exists()
