"""ADT A40 merges in the MPI; ORM orders create consultation requests where configured."""

from __future__ import annotations

import datetime as dt

import pytest

from telemed.audit.models import AuditEvent
from telemed.consultations.models import Consultation
from telemed.directory.models import Disease
from telemed.exchange import inbound
from telemed.exchange.testing import ack_code, ack_field, adt, order
from telemed.patients import identifiers
from telemed.patients.models import Consent, Patient, PatientRegistration
from telemed.testing import register


def send(text: str) -> bytes:
    return inbound.receive(text.encode())


def test_a40_merges_the_mrg_record_into_the_pid_one(his, charlie):
    resident_id = identifiers.make("410522", dt.date(1971, 3, 9), 41)
    send(adt("A04", "M1", "MR-KEEP", name=("赵", "丽"), birth_date="19710309"))
    send(
        adt(
            "A04",
            "M2",
            "MR-GONE",
            name=("赵", "莉"),
            birth_date="19710309",
            resident_id=resident_id,
        )
    )
    # The duplicate is also known at another county, which must follow the merge.
    register(charlie, "赵莉", "B-77", birth_date=dt.date(1971, 3, 9), resident_id=resident_id)
    survivor = Patient.objects.unscoped("test").get(name="赵丽")
    merged = Patient.objects.unscoped("test").get(name="赵莉")
    ack = send(adt("A40", "M3", "MR-KEEP", name=("赵", "丽"), merged_record_number="MR-GONE"))
    assert ack_code(ack) == "AA", ack_field(ack, "ERR.F8")
    assert list(Patient.objects.unscoped("test").values_list("pk", flat=True)) == [survivor.pk]
    survivor.refresh_from_db()
    assert survivor.resident_id == resident_id
    numbers = set(
        PatientRegistration.objects.unscoped("test").values_list(
            "institution__code", "record_number"
        )
    )
    assert numbers == {("COUNTY_A", "MR-KEEP"), ("COUNTY_B", "B-77")}
    assert not Consent.objects.unscoped("test").exclude(patient=survivor).exists()
    merge_events = AuditEvent.objects.filter(detail__merge__isnull=False)
    assert {event.patient_id for event in merge_events} == {survivor.pk, merged.pk}


def test_a40_of_an_unknown_record_is_refused(his):
    send(adt("A04", "M4", "MR-KEEP"))
    ack = send(adt("A40", "M5", "MR-KEEP", merged_record_number="MR-NONE"))
    assert ack_code(ack) == "AE"
    assert ack_field(ack, "ERR.F3.R1.C1") == "204"
    assert "MR-NONE" in ack_field(ack, "ERR.F8")


def test_a40_refuses_two_different_resident_ids(his):
    one = identifiers.make("410522", dt.date(1960, 5, 17), 1)
    two = identifiers.make("410522", dt.date(1960, 5, 17), 2)
    send(adt("A04", "M6", "MR-A", resident_id=one))
    send(adt("A04", "M7", "MR-B", name=("张", "秀"), resident_id=two))
    ack = send(adt("A40", "M8", "MR-A", merged_record_number="MR-B"))
    assert ack_code(ack) == "AE"
    assert Patient.objects.unscoped("test").count() == 2


@pytest.fixture(autouse=True)
def angina(db):
    return Disease.objects.create(icd10="I20.0", name="不稳定型心绞痛", name_en="Unstable angina")


def test_orders_are_refused_unless_the_sender_takes_them(his):
    ack = send(order("O1", "MR-ORD"))
    assert ack_code(ack) == "AR"
    assert not Consultation.objects.unscoped("test").exists()
    assert not Patient.objects.unscoped("test").exists()


def test_an_order_creates_a_draft_request(his):
    his.accepts_orders = True
    his.save()
    ack = send(order("O2", "MR-ORD", priority="S"))
    assert ack_code(ack) == "AA", ack_field(ack, "ERR.F8")
    case = Consultation.objects.unscoped("test").get()
    assert (case.state, case.urgency, case.requesting_institution) == (
        "draft",
        "emergency",
        his.institution,
    )
    assert case.question == "是否需要介入治疗？"
    assert case.clinical_summary.startswith("胸痛三天，心电图异常。")
    assert case.disease is not None and case.disease.icd10 == "I20.0"
    assert case.wanted_specialty is not None and case.wanted_specialty.code == "cardiology"
    assert case.requested_by == his.service_user


def test_an_order_is_submitted_when_configured(his, network):
    his.accepts_orders = his.submit_orders = True
    his.save()
    assert ack_code(send(order("O3", "MR-ORD"))) == "AA"
    assert Consultation.objects.unscoped("test").get().state in {"submitted", "accepted"}


def test_an_incomplete_order_is_refused_and_changes_nothing(his):
    his.accepts_orders = his.submit_orders = True
    his.save()
    ack = send(order("O4", "MR-ORD", specialty="nosuch"))
    assert ack_code(ack) == "AE"
    assert "wanted_specialty" in ack_field(ack, "ERR.F8")
    assert not Consultation.objects.unscoped("test").exists()
    assert not Patient.objects.unscoped("test").exists()


def test_a40_moves_the_merged_records_consultations(his):
    send(adt("A04", "M9", "MR-KEEP", name=("钱", "一")))
    send(adt("A04", "M10", "MR-GONE", name=("钱", "壹")))
    his.accepts_orders = True
    his.save()
    assert ack_code(send(order("M11", "MR-GONE"))) == "AA"
    case = Consultation.objects.unscoped("test").get()
    survivor = Patient.objects.unscoped("test").get(name="钱一")
    assert (
        ack_code(
            send(adt("A40", "M12", "MR-KEEP", name=("钱", "一"), merged_record_number="MR-GONE"))
        )
        == "AA"
    )
    case.refresh_from_db()
    assert case.patient_id == survivor.pk


def cancel(control_id: str, placer: str) -> str:
    return (
        f"MSH|^~\\&|HIS|COUNTY_A|TELEMED|PROV|20261201100000||ORM^O01^ORM_O01|{control_id}"
        "|P|2.5||||||UNICODE UTF-8\r"
        "PID|1||MR-ORD^^^COUNTY_A^MR||张^秀英||19600517|F\r"
        f"ORC|CA|{placer}||||||||||||||^患者已转院\r"
        f"OBR|1|{placer}||cardiology^是否需要介入治疗？\r"
    )


def test_the_his_cancels_its_order(his):
    his.accepts_orders = True
    his.save()
    assert ack_code(send(order("O5", "MR-ORD"))) == "AA"
    ack = send(cancel("O5-CA", "PO5"))
    assert ack_code(ack) == "AA", ack_field(ack, "ERR.F8")
    case = Consultation.objects.unscoped("test").get()
    assert case.state == "withdrawn"
    assert case.events.filter(action="withdraw").get().reason == "患者已转院"


def test_cancelling_an_unknown_order_is_refused(his):
    his.accepts_orders = True
    his.save()
    ack = send(cancel("O6-CA", "NOSUCH"))
    assert ack_code(ack) == "AE"
    assert ack_field(ack, "ERR.F3.R1.C1") == "204"


def test_an_order_sent_twice_under_two_control_ids_is_taken_once(his):
    his.accepts_orders = True
    his.save()
    assert ack_code(send(order("O7", "MR-ORD"))) == "AA"
    again = order("O7", "MR-ORD").replace("|O7|P|2.5", "|O7-AGAIN|P|2.5")
    ack = send(again)
    assert ack_code(ack) == "AE"
    assert ack_field(ack, "ERR.F3.R1.C1") == "205"
    assert Consultation.objects.unscoped("test").count() == 1
