"""The ECG demo: rosters, an escalation pool and a few cases, made once however often run."""

from __future__ import annotations

from telemed.accounts.models import Role
from telemed.consultations.models import Consultation
from telemed.directory.models import Institution, Tier
from telemed.ecg import demo
from telemed.ecg.models import DutyShift, EcgRecording
from telemed.ecg.testing import ecg_pool
from telemed.testing import make_expert, make_user, register


def test_it_loads_once(network):
    county = Institution.objects.create(
        code="DEMO_COUNTY", name="舞阳县人民医院", tier=Tier.COUNTY_HOSPITAL, parent=network.city_b
    )
    ecg_pool(county, network.province)
    make_expert("expert", network.province, network.cardiology)
    make_expert("dr_zhao", network.province, network.cardiology)
    doctor = make_user("doctor", Role.REQUESTING_DOCTOR, county)
    for index in range(3):
        register(doctor, f"演示患者{index}", f"D-{index}")
    first = demo.load()
    assert first == {"ecg_shifts": 2, "ecg_escalations": 1, "ecg_cases": 3}
    assert demo.load() == {"ecg_shifts": 0, "ecg_escalations": 0, "ecg_cases": 0}
    assert DutyShift.objects.filter(expert__username="expert").count() == 1
    cases = Consultation.objects.unscoped("test").filter(kind="ecg")
    assert set(cases.values_list("state", flat=True)) == {"accepted"}
    assert EcgRecording.objects.unscoped("test").filter(critical=True).count() >= 1


def test_without_the_demo_network_it_does_nothing(db):
    assert demo.load() == {}
