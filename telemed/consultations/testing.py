"""Builders for consultation tests: the people on a case and a case at any step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telemed.accounts.models import Role, User
from telemed.consultations import services, signing
from telemed.consultations.models import Consultation
from telemed.directory.models import ConsultationRoom, ExpertProfile
from telemed.testing import Network, make_expert, make_user, register

CHECKLIST = {
    "summary_complete": True,
    "question_clear": True,
    "department_fits": True,
    "consent_recorded": True,
}
CONCLUSION = signing.ConclusionDraft(
    findings="窦性心律，ST段压低。",
    diagnosis="不稳定型心绞痛",
    icd10_codes=("I20.0",),
    recommendations="建议冠脉造影，转上级医院。",
)


@dataclass
class Team:
    requester: User
    qc: User
    manager: User
    expert: User
    room: ConsultationRoom


def build_team(network: Network, requester: User) -> Team:
    expert = make_expert("dr_wang", network.province, network.cardiology)
    assert expert.practitioner is not None
    ExpertProfile.objects.create(practitioner=expert.practitioner)
    return Team(
        requester=requester,
        qc=make_user("qc", Role.QUALITY_CONTROL, network.province),
        manager=make_user("manager", Role.CONSULTATION_MANAGER, network.province),
        expert=expert,
        room=ConsultationRoom.objects.create(
            institution=network.province, code="r1", name="第一会诊室"
        ),
    )


def draft(
    team: Team, *, urgency: str = "routine", patient_name: str = "张秀英", record: str = "A-0001"
) -> Consultation:
    patient = register(team.requester, patient_name, record).patient
    return services.create_draft(
        team.requester,
        patient.pk,
        services.Request(
            clinical_summary="胸痛三天，心电图异常。",
            question="是否需要介入治疗？",
            urgency=urgency,
            wanted_specialty="cardiology",
            consent_confirmed=True,
        ),
    )


def advance(
    team: Team, consultation: Consultation, until: str, *, start: dt.datetime | None = None
) -> Consultation:
    """Take a case along the happy path up to the state ``until``."""
    order = ["submitted", "accepted", "assigned", "scheduled", "concluded", "closed"]
    steps = {
        "submitted": lambda c: services.submit(team.requester, c.pk),
        "accepted": lambda c: services.quality_check(
            team.qc, c.pk, accept=True, checklist=CHECKLIST
        ),
        "assigned": lambda c: services.triage(team.manager, c.pk, expert_id=team.expert.pk),
        "scheduled": lambda c: services.schedule(
            team.manager,
            c.pk,
            start=start or dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
            room_id=team.room.pk,
        ),
        "concluded": lambda c: (services.conclude(team.expert, c.pk, CONCLUSION), c)[1],
        "closed": lambda c: services.close(team.requester, c.pk),
    }
    for state in order[: order.index(until) + 1]:
        steps[state](consultation)
    return Consultation.objects.unscoped("test").get(pk=consultation.pk)
