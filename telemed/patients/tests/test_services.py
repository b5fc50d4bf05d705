from __future__ import annotations

import datetime as dt

import pytest

from telemed.accounts.models import Role
from telemed.core.errors import Conflict, PermissionDenied, ValidationFailed
from telemed.patients import identifiers, queries, services
from telemed.testing import make_expert, make_user, register

BIRTH = dt.date(1960, 5, 17)
RESIDENT_ID = identifiers.make("410522", BIRTH, 12)


def test_resident_id_check_character():
    assert identifiers.problem_with(RESIDENT_ID, BIRTH) is None
    assert (
        identifiers.problem_with(RESIDENT_ID[:17] + ("0" if RESIDENT_ID[17] != "0" else "1"))
        is not None
    )
    assert identifiers.problem_with(RESIDENT_ID, dt.date(1961, 1, 1)) is not None
    assert (
        identifiers.problem_with("11010519491231002X") is None
    )  # the standard's published example


def test_same_resident_id_links_the_existing_person(alice, charlie):
    first = register(alice, "张秀英", "A-1", resident_id=RESIDENT_ID, birth_date=BIRTH)
    second = register(charlie, "张秀英", "B-9", resident_id=RESIDENT_ID, birth_date=BIRTH)
    assert second.linked_existing and second.patient.pk == first.patient.pk
    assert queries.get_patient(charlie, first.patient.pk).pk == first.patient.pk
    assert sorted(r.record_number for r in second.patient.registrations.all()) == ["A-1", "B-9"]


def test_resident_id_of_someone_else_is_refused(alice, charlie):
    register(alice, "张秀英", "A-1", resident_id=RESIDENT_ID, birth_date=BIRTH)
    with pytest.raises(Conflict, match="different person"):
        register(charlie, "李四", "B-9", resident_id=RESIDENT_ID, birth_date=BIRTH)
    assert queries.visible_patients(charlie).count() == 0


def test_visible_look_alike_needs_confirmation(alice, bob):
    register(alice, "张秀英", "A-1")
    with pytest.raises(services.PossibleDuplicate) as raised:
        register(bob, "张秀英", "A-2")
    assert raised.value.details["candidates"]
    confirmed = services.register_patient(
        bob,
        services.NewPatient(name="张秀英", sex="female", birth_date=BIRTH, record_number="A-2"),
        confirm_new=True,
    )
    assert not confirmed.linked_existing


def test_hidden_look_alike_is_flagged_not_revealed(alice, charlie):
    original = register(alice, "张秀英", "A-1").patient
    created = register(charlie, "张秀英", "B-1").patient
    assert created.pk != original.pk
    assert created.possible_duplicate_of_id == original.pk


def test_experts_cannot_register_or_record_consent(network, alice, alice_patient):
    expert = make_expert("dr_wang", network.province, network.cardiology)
    with pytest.raises(PermissionDenied):
        register(expert, "王五", "P-1")
    services.grant_access(alice, alice_patient, expert, reason="assigned", source="consultation:1")
    with pytest.raises(PermissionDenied):
        services.record_consent(expert, alice_patient, "telemedicine", False)


def test_patient_records_own_consent(network, alice_patient):
    me = make_user("pat", Role.PATIENT, network.county_a, patient=alice_patient)
    services.record_consent(me, alice_patient, "share_external", True)
    assert queries.current_consents(alice_patient)["share_external"] is True


def test_latest_consent_is_in_force(alice, alice_patient):
    services.record_consent(alice, alice_patient, "telemedicine", False)
    assert queries.current_consents(alice_patient)["telemedicine"] is False
    services.record_consent(alice, alice_patient, "telemedicine", True)
    assert queries.current_consents(alice_patient)["telemedicine"] is True


def test_update_refuses_unknown_fields(alice, alice_patient):
    with pytest.raises(ValidationFailed):
        services.update_patient(alice, alice_patient, {"resident_id": "x"})
    updated = services.update_patient(alice, alice_patient, {"phone": "13800000000"})
    assert updated.phone == "13800000000"


def test_a_record_number_used_at_the_institution_is_refused_and_nothing_is_written(alice):
    register(alice, "张秀英", "A-1")
    with pytest.raises(Conflict, match="record number"):
        register(alice, "李四", "A-1", birth_date=dt.date(1970, 1, 2))
    assert queries.visible_patients(alice).count() == 1


def test_a_refusal_inside_the_callers_transaction_leaves_it_usable(alice, charlie):
    from django.db import transaction

    register(alice, "张秀英", "A-1", resident_id=RESIDENT_ID, birth_date=BIRTH)
    with transaction.atomic():
        for refused in (
            lambda: register(alice, "王五", "A-1", birth_date=dt.date(1970, 1, 2)),
            lambda: register(charlie, "李四", "B-9", resident_id=RESIDENT_ID, birth_date=BIRTH),
            lambda: register(alice, "张秀英", "A-2"),
        ):
            with pytest.raises(Conflict):
                refused()
        # Refused before anything was written: the transaction goes on.
        assert register(alice, "赵六", "A-3", birth_date=dt.date(1971, 3, 4)).patient.pk
    assert queries.visible_patients(alice).count() == 2
