"""A working day of consultations for the demo: cases in every state, today's board filled,
queues with something in them. Built through the real services, so every case carries its
history and audit trail as if people had done it."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from telemed.accounts.models import Role, User
from telemed.consultations import services
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.signing import ConclusionDraft
from telemed.demo.accounts import DEMO_PROVINCE
from telemed.directory.models import ConsultationRoom, ExpertProfile, Institution
from telemed.patients import queries as patient_queries

# (state to reach, how many). Scheduled, in-session and concluded cases are on today's board.
PLAN = (
    ("draft", 3),
    ("submitted", 4),
    ("returned", 2),
    ("accepted", 3),
    ("declined", 1),
    ("assigned", 3),
    ("scheduled", 6),
    ("in_session", 2),
    ("concluded", 4),
    ("closed", 2),
    ("withdrawn", 1),
)
QUESTIONS = (
    (
        "cardiology",
        "I20.0",
        "反复胸痛2周，活动后加重，心电图ST段压低。",
        "是否需要冠脉造影或转上级医院？",
    ),
    ("cardiology", "I50.9", "活动后气促伴双下肢水肿1月。", "心衰病因及下一步治疗方案？"),
    ("neurology", "I63.9", "突发右侧肢体无力6小时，CT未见出血。", "是否具备溶栓或取栓指征？"),
    ("respiratory", "J18.9", "发热咳嗽5天，胸片右下肺渗出。", "抗感染方案是否需要调整？"),
    ("oncology", "C34.9", "体检发现右肺占位，CT提示分叶及毛刺。", "下一步诊断与治疗建议？"),
    ("endocrinology", "E11.9", "2型糖尿病10年，血糖控制不佳。", "降糖方案如何调整？"),
)
CONCLUSION = ConclusionDraft(
    findings="结合病史、心电图及检验结果，考虑病情稳定。",
    diagnosis="不稳定型心绞痛",
    icd10_codes=("I20.0",),
    recommendations="规律服用抗血小板及他汀类药物，择期冠脉造影，两周后复诊。",
)


def expert_accounts() -> int:
    """Accounts for every expert of the directory, so that triage can assign them. They
    cannot sign in (no usable password); only the demo's own expert account can."""
    missing = ExpertProfile.objects.filter(practitioner__user__isnull=True).select_related(
        "practitioner"
    )
    accounts = [
        User(
            username=f"expert-{profile.practitioner_id}",
            role=Role.EXPERT,
            institution_id=profile.practitioner.institution_id,
            practitioner_id=profile.practitioner_id,
            last_name=profile.practitioner.name[:1],
            first_name=profile.practitioner.name[1:],
            password=make_password(None),
        )
        for profile in missing
    ]
    User.objects.bulk_create(accounts)
    return len(accounts)


def build_cases(rng: random.Random) -> int:
    doctor = User.objects.get(username="doctor")
    qc = User.objects.get(username="qc")
    manager = User.objects.get(username="manager")
    persona_expert = User.objects.get(username="expert")
    province = Institution.objects.get(code=DEMO_PROVINCE)
    rooms = list(
        ConsultationRoom.objects.filter(institution=province, kind="consultation").order_by("code")
    )
    others = list(
        User.objects.filter(role=Role.EXPERT, institution=province)
        .exclude(pk=persona_expert.pk)
        .order_by("pk")[:8]
    )
    patients = list(patient_queries.visible_patients(doctor).order_by("pk")[:40])
    day = timezone.localdate()
    zone = timezone.get_current_timezone()
    slot = dt.datetime.combine(day, dt.time(8, 30), tzinfo=zone)
    made = 0
    for state, count in PLAN:
        for _ in range(count):
            specialty, icd10, summary, question = QUESTIONS[made % len(QUESTIONS)]
            patient = patients[made % len(patients)]
            urgency = rng.choices(("routine", "urgent", "emergency"), weights=(6, 3, 1))[0]
            case = services.create_draft(
                doctor,
                patient.pk,
                services.Request(
                    clinical_summary=summary,
                    question=question,
                    urgency=urgency,
                    wanted_specialty=specialty,
                    disease=icd10,
                    consent_confirmed=True,
                ),
            )
            expert = persona_expert if made % 2 == 0 or not others else others[made % len(others)]
            room = rooms[made % len(rooms)] if rooms else None
            _advance(
                case,
                state,
                doctor=doctor,
                qc=qc,
                manager=manager,
                expert=expert,
                room=room,
                start=slot,
            )
            if state in ("scheduled", "in_session", "concluded", "closed"):
                slot += dt.timedelta(minutes=30)
            made += 1
    return made


def _advance(
    case: Consultation,
    state: str,
    *,
    doctor: User,
    qc: User,
    manager: User,
    expert: User,
    room: ConsultationRoom | None,
    start: dt.datetime,
) -> None:
    if state == "draft":
        return
    if state == "withdrawn":
        services.withdraw(doctor, case.pk, "患者已转往上级医院就诊")
        return
    services.submit(doctor, case.pk)
    if state == "submitted":
        return
    if state == "returned":
        services.quality_check(
            qc,
            case.pk,
            accept=False,
            checklist={"summary_complete": False},
            reasons="请补充既往史及近期检查结果",
        )
        return
    checklist = {item.code: True for item in policy_for(case.kind).checklist}
    services.quality_check(qc, case.pk, accept=True, checklist=checklist)
    if state == "accepted":
        return
    services.triage(manager, case.pk, expert_id=expert.pk)
    if state == "declined":
        services.decline(expert, case.pk, "该病例更适合神经内科专家")
        return
    if state == "assigned":
        return
    services.schedule(manager, case.pk, start=start, room_id=room.pk if room else None)
    if state == "scheduled":
        return
    services.start_session(expert, case.pk)
    if state == "in_session":
        return
    services.conclude(expert, case.pk, CONCLUSION)
    if state == "closed":
        services.give_feedback(doctor, case.pk, rating=5, comment="结论清楚，已按建议处理")
        services.close(doctor, case.pk)
