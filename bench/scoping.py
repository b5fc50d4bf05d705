"""The scoping choke point's cost: ``visible_to`` against a hand-written institution filter."""

from __future__ import annotations

import datetime as dt
import random

from bench.__main__ import timed

PATIENTS = 20_000
INSTITUTIONS = 120


def run() -> dict[str, float | int]:
    from telemed.accounts.models import Role, User
    from telemed.directory.models import Institution, Tier
    from telemed.patients.models import Patient, PatientRegistration

    rng = random.Random(7)
    institutions = Institution.objects.bulk_create(
        Institution(code=f"B{i:03d}", name=f"县医院{i}", tier=Tier.COUNTY_HOSPITAL)
        for i in range(INSTITUTIONS)
    )
    patients = Patient.objects.bulk_create(
        Patient(
            name=f"患者{i}",
            sex="female",
            birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000),
        )
        for i in range(PATIENTS)
    )
    PatientRegistration.objects.bulk_create(
        PatientRegistration(
            patient=p, institution=rng.choice(institutions), record_number=f"R{p.pk}"
        )
        for p in patients
    )
    doctor = User.objects.create(
        username="bench", role=Role.REQUESTING_DOCTOR, institution=institutions[0]
    )

    def scoped() -> None:
        list(
            Patient.objects.visible_to(doctor).filter(name__icontains="患者1").order_by("-pk")[:50]
        )

    def by_hand() -> None:
        list(
            Patient.objects.unscoped("benchmark baseline")
            .filter(registrations__institution=institutions[0], name__icontains="患者1")
            .order_by("-pk")[:50]
        )

    scoped_s = timed(scoped, 50)
    by_hand_s = timed(by_hand, 50)
    return {
        "patients": PATIENTS,
        "institutions": INSTITUTIONS,
        "scoped_search_ms": round(scoped_s * 1000, 3),
        "hand_filter_ms": round(by_hand_s * 1000, 3),
        "ratio_scoped_over_hand": round(scoped_s / by_hand_s, 2),
    }
