from __future__ import annotations

import pytest

from telemed.accounts.models import Role
from telemed.core.errors import NotFound
from telemed.core.scoped import UnscopedRead
from telemed.patients import queries, services
from telemed.patients.models import Patient
from telemed.testing import make_expert, make_user, register


def test_it_shows_own_institution(alice, bob, alice_patient):
    assert list(queries.visible_patients(bob)) == [alice_patient]


def test_it_hides_other_institutions(charlie, alice_patient):
    assert list(queries.visible_patients(charlie)) == []
    with pytest.raises(NotFound):
        queries.get_patient(charlie, alice_patient.pk)


def test_unscoped_read_raises(alice_patient):
    with pytest.raises(UnscopedRead):
        list(Patient.objects.all())
    with pytest.raises(UnscopedRead):
        Patient.objects.filter(pk=alice_patient.pk).exists()
    with pytest.raises(UnscopedRead):
        Patient.objects.count()


def test_related_access_from_scoped_instance_is_allowed(alice, alice_patient):
    patient = queries.get_patient(alice, alice_patient.pk)
    assert [r.record_number for r in patient.registrations.all()] == ["A-0001"]


def test_city_manager_sees_region_only(network, alice_patient, charlie):
    register(charlie, "王建国", "B-0001")
    manager_a = make_user("mgr_a", Role.CONSULTATION_MANAGER, network.city_a)
    assert [p.name for p in queries.visible_patients(manager_a)] == ["张秀英"]


def test_province_manager_sees_everything(network, alice_patient, charlie):
    register(charlie, "王建国", "B-0001")
    manager = make_user("mgr_p", Role.CONSULTATION_MANAGER, network.province)
    assert queries.visible_patients(manager).count() == 2


def test_supervisor_of_one_city(network, alice_patient, charlie):
    register(charlie, "王建国", "B-0001")
    supervisor = make_user(
        "sup_b", Role.SUPERVISOR, network.province, supervised_region=network.city_b_region
    )
    assert [p.name for p in queries.visible_patients(supervisor)] == ["王建国"]


def test_expert_sees_only_assigned(network, alice, alice_patient):
    expert = make_expert("dr_wang", network.province, network.cardiology)
    assert queries.visible_patients(expert).count() == 0
    services.grant_access(alice, alice_patient, expert, reason="assigned", source="consultation:1")
    assert list(queries.visible_patients(expert)) == [alice_patient]
    services.revoke_access(alice, source="consultation:1")
    assert queries.visible_patients(expert).count() == 0


def test_patient_sees_own_record(network, alice_patient):
    me = make_user("pat", Role.PATIENT, network.county_a, patient=alice_patient)
    assert list(queries.visible_patients(me)) == [alice_patient]


def test_city_supervisor_employed_by_the_province_sees_only_the_city(network, alice, charlie):
    register(alice, "张秀英", "A-0001")
    register(charlie, "王建国", "B-0001")
    province_doctor = make_user("prov_doc", Role.REQUESTING_DOCTOR, network.province)
    register(province_doctor, "省医院患者", "P-0001")
    supervisor = make_user(
        "sup_b2", Role.SUPERVISOR, network.province, supervised_region=network.city_b_region
    )
    assert [p.name for p in queries.visible_patients(supervisor)] == ["王建国"]
