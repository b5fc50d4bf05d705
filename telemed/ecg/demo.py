"""Demo data for ECG reading: duty rosters for the demo pools (the ``expert`` account and two
colleagues on duty in DEMO_COUNTY's ECG pool), an escalation pool at the province centre,
and a few ECGs from DEMO_COUNTY made through the services (one of them critical).

Safe to run again: shifts are added only where none is current, cases only while fewer
than the demo's exist. Every tracing is synthetic.
"""

from __future__ import annotations

import datetime as dt

from telemed.accounts.models import Role, User
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind
from telemed.core import clock
from telemed.directory.models import ExpertPool, Institution, Tier
from telemed.ecg import pools, services
from telemed.ecg.models import DutyShift, PoolEscalation
from telemed.patients import queries as patient_queries

DEMO_COUNTY = "DEMO_COUNTY"
ROSTER = dt.timedelta(days=365)
# (heart rate, urgency, summary): a normal tracing, a slow one (critical), a fast one.
CASES = (
    (72, "routine", "体检心电图"),
    (36, "emergency", "头晕、黑矇半天"),
    (110, "urgent", "心悸两小时"),
)


def load() -> dict[str, int]:
    county = Institution.objects.filter(code=DEMO_COUNTY).first()
    if county is None:
        return {}
    pool = ExpertPool.objects.filter(owner=county, service=ExpertPool.Service.ECG).first()
    if pool is None:
        return {}
    escalations = _escalation(county, pool)
    shifts = _rosters(pool)
    cases = _cases(county)
    return {"ecg_shifts": shifts, "ecg_escalations": escalations, "ecg_cases": cases}


def _escalation(county: Institution, pool: ExpertPool) -> int:
    province = Institution.objects.filter(tier=Tier.PROVINCE_CENTRE).order_by("pk").first()
    if province is None or PoolEscalation.objects.filter(pool=pool).exists():
        return 0
    target, _created = ExpertPool.objects.get_or_create(
        owner=province,
        service=ExpertPool.Service.ECG,
        defaults={"name": "省中心心电诊断值班池", "name_en": "Province ECG duty pool"},
    )
    target.member_institutions.add(province)
    PoolEscalation.objects.create(pool=pool, escalate_to=target)
    return 1


def _rosters(pool: ExpertPool) -> int:
    now = clock.now()
    expert = User.objects.filter(username="expert", role=Role.EXPERT).first()
    colleagues = list(
        User.objects.filter(
            role=Role.EXPERT,
            is_active=True,
            institution__in=pool.member_institutions.all(),
            practitioner__department__specialty__code="cardiology",
        )
        .exclude(username="expert")
        .order_by("pk")[:2]
    )
    added = 0
    for person in [p for p in (expert, *colleagues) if p is not None]:
        current = DutyShift.objects.filter(
            pool=pool, expert=person, starts_at__lte=now, ends_at__gt=now
        ).exists()
        if current or not pools.is_member(pool, person):
            continue
        pools.add_shift(None, pool, person, now - dt.timedelta(hours=1), now + ROSTER)
        added += 1
    return added


def _cases(county: Institution) -> int:
    from telemed.ecg.testing import wfdb_files

    doctor = User.objects.filter(username="doctor", institution=county).first()
    if doctor is None:
        return 0
    existing = (
        Consultation.objects.unscoped("demo: are the ECG cases there")
        .filter(kind=Kind.ECG, requesting_institution=county)
        .count()
    )
    patients = list(patient_queries.visible_patients(doctor).order_by("pk")[: len(CASES)])
    made = 0
    for (rate, urgency, summary), patient in list(zip(CASES, patients, strict=False))[existing:]:
        services.submit_ecg(
            doctor,
            patient,
            wfdb_files(heart_rate=rate, name=f"demo{rate}"),
            main=f"demo{rate}.hea",
            intake=services.Intake(
                urgency=urgency, clinical_summary=summary, consent_confirmed=True, channel="demo"
            ),
        )
        made += 1
    return made
