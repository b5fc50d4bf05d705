from __future__ import annotations

import time

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from telemed.accounts.models import Role, User
from telemed.audit.models import AuditEvent
from telemed.demo import medicine
from telemed.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_CITY,
    DEMO_COUNTY,
    DEMO_PASSWORD,
    DEMO_PROVINCE,
)
from telemed.demo.network import counts, load_demo
from telemed.directory.models import (
    Department,
    ExpertPool,
    ExpertProfile,
    Institution,
    Region,
    Tier,
)
from telemed.patients import identifiers, queries
from telemed.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_it_builds_the_four_tiers(demo):
    assert demo["loaded"] is True
    assert demo["tier_province"] == 1
    assert demo["tier_city"] == 18
    assert demo["tier_county"] >= 120
    assert demo["tier_township"] > 0
    assert demo["tier_village"] > 0
    assert 2 <= demo["tier_external"] <= 3
    assert demo["practitioners"] >= 480
    assert demo["patients"] >= 300
    assert Region.objects.filter(level="city", parent__code="410000").count() == 18
    assert Region.objects.get(code="411100").name == "漯河市"


def test_every_institution_is_bilingual_and_placed(demo):
    assert not Institution.objects.filter(name="").exists()
    assert not Institution.objects.filter(name_en="").exists()
    counties = Institution.objects.filter(tier=Tier.COUNTY_HOSPITAL)
    assert not counties.exclude(parent__tier=Tier.CITY_SUBCENTRE).exists()
    grassroots = Institution.objects.filter(tier__in=[Tier.TOWNSHIP_CLINIC, Tier.VILLAGE_CLINIC])
    assert not grassroots.exclude(parent__tier=Tier.COUNTY_HOSPITAL).exists()
    assert (
        not Institution.objects.filter(tier=Tier.CITY_SUBCENTRE)
        .exclude(parent__code=DEMO_PROVINCE)
        .exists()
    )


def test_fixed_codes(demo):
    province = Institution.objects.get(code=DEMO_PROVINCE)
    city = Institution.objects.get(code=DEMO_CITY)
    county = Institution.objects.get(code=DEMO_COUNTY)
    assert province.tier == Tier.PROVINCE_CENTRE
    assert city.region is not None and county.region is not None
    assert (city.tier, city.name, city.region.code) == (
        Tier.CITY_SUBCENTRE,
        "漯河市中心医院",
        "411100",
    )
    assert (county.tier, county.name) == (Tier.COUNTY_HOSPITAL, "舞阳县人民医院")
    assert county.parent == city
    assert county.region.code == "411121"
    assert county.region.path == "/410000/411100/411121/"


def test_experts_in_every_major_specialty_at_the_province_and_cities(demo):
    for code in medicine.PROVINCE_EXPERT_SPECIALTIES:
        experts = ExpertProfile.objects.filter(
            practitioner__institution__code=DEMO_PROVINCE, practitioner__specialties__code=code
        )
        assert experts.count() >= 2, code
        assert experts.filter(diseases__specialty__code=code).exists(), code
    for city in Institution.objects.filter(tier=Tier.CITY_SUBCENTRE):
        for code in medicine.CITY_EXPERT_SPECIALTIES:
            assert ExpertProfile.objects.filter(
                practitioner__institution=city, practitioner__specialties__code=code
            ).exists(), (city.code, code)
    every = Department.objects.filter(institution__code=DEMO_PROVINCE).count()
    assert every == len(medicine.SPECIALTIES)
    profile = ExpertProfile.objects.filter(summary_en__contains="years in").first()
    assert profile is not None and profile.summary


def test_each_county_reads_through_its_city_and_the_province(demo):
    county = Institution.objects.get(code=DEMO_COUNTY)
    pools = ExpertPool.objects.filter(owner=county)
    assert sorted(pools.values_list("service", flat=True)) == ["ecg", "imaging", "pathology"]
    for pool in pools:
        assert set(pool.member_institutions.values_list("code", flat=True)) == {
            DEMO_CITY,
            DEMO_PROVINCE,
        }
        specialty = medicine.SERVICE_SPECIALTY[pool.service]
        experts = pool.member_experts.all()
        assert experts.exists()
        assert not experts.exclude(practitioner__specialties__code=specialty).exists()
    assert ExpertPool.objects.filter(service="ecg").count() >= demo["tier_county"]
    ecg = pools.get(service="ecg")
    assert ecg.member_experts.filter(practitioner__user__username="expert").exists()


def test_demo_accounts_sign_in_with_their_role_and_institution(demo):
    for account in DEMO_ACCOUNTS:
        user = authenticate(username=account.username, password=DEMO_PASSWORD)
        assert isinstance(user, User), account.username
        assert user.role == account.role
        assert user.institution is not None
        assert user.institution.code == account.institution
        assert user.last_name + user.first_name == account.name
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    supervised = {
        username: User.objects.get(username=username).supervised_region
        for username in ("city-supervisor", "supervisor")
    }
    assert {k: v.code if v else None for k, v in supervised.items()} == {
        "city-supervisor": "411100",
        "supervisor": "410000",
    }
    expert = User.objects.get(username="expert")
    assert expert.practitioner is not None
    assert expert.practitioner.institution.code == DEMO_PROVINCE
    assert expert.practitioner.expert_profile is not None
    assert expert.practitioner.specialties.filter(code="cardiology").exists()


def test_patient_and_expert_accounts_see_their_patients(demo):
    patient_user = User.objects.get(username="patient")
    own = list(queries.visible_patients(patient_user))
    assert len(own) == 1 and own[0] == patient_user.patient
    assert own[0].registrations.filter(institution__code=DEMO_COUNTY).exists()
    expert = User.objects.get(username="expert", role=Role.EXPERT)
    assigned = queries.visible_patients(expert)
    # Directly assigned patients plus those of the demo's consultations assigned to him.
    assert 1 <= assigned.count() <= 40
    assert not assigned.exclude(registrations__institution__code=DEMO_COUNTY).exists()
    doctor = User.objects.get(username="doctor")
    assert queries.visible_patients(doctor).count() >= 50


def test_patients_are_synthetic_with_valid_resident_ids(demo):
    patients = list(Patient.objects.unscoped("test: check every demo patient"))
    assert len({p.resident_id for p in patients}) == len(patients)
    for patient in patients:
        assert patient.resident_id is not None
        assert identifiers.problem_with(patient.resident_id, patient.birth_date) is None
        # The sequence digit's parity follows the sex, as on a real card.
        assert int(patient.resident_id[16]) % 2 == (1 if patient.sex == "male" else 0)
        assert patient.phone == ""
        assert patient.consents.exists()
        assert patient.registrations.filter(institution__tier=Tier.COUNTY_HOSPITAL).exists()
    at_demo_county = Patient.objects.unscoped("test").filter(
        registrations__institution__code=DEMO_COUNTY
    )
    assert at_demo_county.count() >= 80


def test_load_is_recorded_in_the_audit_trail(demo):
    event = AuditEvent.objects.filter(object_type="demo").get()
    assert (event.action, event.actor, event.outcome) == ("admin", "demo", "success")
    assert event.detail["tier_county"] == demo["tier_county"]


def test_loading_again_changes_nothing(demo):
    before = counts()
    events = AuditEvent.objects.count()
    started = time.monotonic()
    again = load_demo()
    assert time.monotonic() - started < 2
    assert again["loaded"] is False and again["accounts_created"] == 0
    assert counts() == before
    assert AuditEvent.objects.count() == events


def test_loading_again_puts_back_a_deleted_account(demo):
    # The expert and the doctor have history on the demo's cases and cannot be deleted.
    User.objects.filter(username="educator").delete()
    User.objects.filter(username="patient").delete()
    summary = load_demo()
    assert summary["accounts_created"] == 2
    educator = authenticate(username="educator", password=DEMO_PASSWORD)
    assert isinstance(educator, User) and educator.role == Role.EDUCATION_MANAGER
    patient = User.objects.get(username="patient")
    assert patient.patient is not None and patient.patient.name == "陈患者"


def test_the_command_prints_a_summary(demo, capsys):
    call_command("demo")
    out = capsys.readouterr().out
    assert "already loaded" in out
    assert "tier_county" in out
    assert DEMO_PASSWORD in out


def test_the_demo_has_a_day_of_consultations(demo):
    from telemed.audit.services import verify_chain
    from telemed.consultations import queries as consultation_queries

    manager = User.objects.get(username="manager")
    states = set(consultation_queries.visible(manager).values_list("state", flat=True))
    assert {
        "draft",
        "submitted",
        "returned",
        "accepted",
        "assigned",
        "scheduled",
        "concluded",
        "closed",
    } <= states
    assert consultation_queries.todays_board(manager).count() >= 10
    expert = User.objects.get(username="expert")
    assert consultation_queries.expert_worklist(expert).exists()
    assert list(verify_chain()) == []
