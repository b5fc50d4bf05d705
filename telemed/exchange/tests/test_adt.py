"""ADT messages into the master patient index, through ``inbound.receive`` (the listener's
work without the socket; the listener's own tests send over MLLP)."""

from __future__ import annotations

import datetime as dt

import pytest

from telemed.audit.models import AuditEvent
from telemed.exchange import inbound
from telemed.exchange.models import InboundMessage
from telemed.exchange.testing import ack_code, ack_field, adt
from telemed.patients import identifiers
from telemed.patients.models import Patient, PatientRegistration
from telemed.testing import register

RESIDENT_ID = identifiers.make("410522", dt.date(1960, 5, 17), 28)


def send(text: str, encoding: str = "utf-8") -> bytes:
    return inbound.receive(text.encode(encoding))


def patients() -> list[Patient]:
    return list(Patient.objects.unscoped("test"))


def test_a01_registers_the_patient_in_the_mpi(his):
    ack = send(
        adt(
            "A01",
            "MSG0001",
            "MR-1001",
            resident_id=RESIDENT_ID,
            pinyin=("Zhang", "Xiuying"),
            phone="13800000001",
            address="人民路1号^^安阳县^河南省^455000",
        )
    )
    assert ack_code(ack) == "AA"
    assert ack_field(ack, "MSA.F2") == "MSG0001"
    [patient] = patients()
    assert patient.name == "张秀英"
    assert patient.name_pinyin == "Xiuying Zhang"
    assert (patient.sex, patient.birth_date) == ("female", dt.date(1960, 5, 17))
    assert patient.resident_id == RESIDENT_ID
    assert patient.phone == "13800000001"
    assert patient.address == "河南省安阳县人民路1号"
    registration = PatientRegistration.objects.unscoped("test").get(patient=patient)
    assert (registration.institution, registration.record_number) == (his.institution, "MR-1001")
    assert registration.registered_by == his.service_user
    log = InboundMessage.objects.unscoped("test").get()
    assert (log.outcome, log.patient_id, log.member_system) == ("AA", patient.pk, his)
    assert "MR-1001" in log.raw


def test_a_resend_is_acknowledged_again_and_stored_once(his):
    message = adt("A04", "MSG0002", "MR-1002")
    first = send(message)
    again = send(message)
    assert first == again
    assert ack_code(again) == "AA"
    assert len(patients()) == 1
    log = InboundMessage.objects.unscoped("test").get()
    assert log.times_received == 2


def test_a08_updates_the_patient(his):
    send(adt("A04", "MSG0003", "MR-1003", phone="13800000001"))
    ack = send(
        adt(
            "A08",
            "MSG0004",
            "MR-1003",
            name=("张", "秀兰"),
            phone="13900000002",
            resident_id=RESIDENT_ID,
            birth_date="19600517",
        )
    )
    assert ack_code(ack) == "AA"
    [patient] = patients()
    assert (patient.name, patient.phone, patient.resident_id) == (
        "张秀兰",
        "13900000002",
        RESIDENT_ID,
    )
    changed = AuditEvent.objects.filter(patient_id=patient.pk, action="update")
    assert changed.count() == 2  # the identity and the demographics


def test_a31_of_an_unknown_record_number_creates_the_patient(his):
    assert ack_code(send(adt("A31", "MSG0005", "MR-1005"))) == "AA"
    assert len(patients()) == 1


def test_a_look_alike_needs_confirmation_and_is_refused_with_the_reason(his, alice):
    register(alice, "张秀英", "A-0001")  # same name, sex and birth date, seen by the HIS
    ack = send(adt("A04", "MSG0006", "MR-1006"))
    assert ack_code(ack) == "AE"
    assert ack_field(ack, "ERR.F3.R1.C1") == "205"
    assert "same name, sex and date of birth" in ack_field(ack, "ERR.F8")
    assert len(patients()) == 1
    assert not PatientRegistration.objects.unscoped("test").filter(record_number="MR-1006")
    refused = AuditEvent.objects.filter(outcome="denied", object_type="hl7_message").get()
    assert refused.actor == his.service_user.username
    # The refusal is final for this control ID: a resend gets the same AE.
    assert send(adt("A04", "MSG0006", "MR-1006")) == ack


def test_an_invalid_resident_id_is_refused_naming_the_field(his):
    ack = send(adt("A01", "MSG0007", "MR-1007", resident_id="410522196005170000"))
    assert ack_code(ack) == "AE"
    assert "resident_id" in ack_field(ack, "ERR.F8")
    assert patients() == []


def test_missing_record_number_and_bad_dates_are_refused(his):
    no_mrn = adt("A01", "MSG0008", "X").replace("X^^^COUNTY_A^MR", "")
    assert "PID-3" in ack_field(send(no_mrn), "ERR.F8")
    bad_date = adt("A01", "MSG0009", "MR-1009", birth_date="1960-5-17")
    ack = send(bad_date)
    assert ack_code(ack) == "AE" and "PID-7" in ack_field(ack, "ERR.F8")
    assert patients() == []


def test_an_unknown_sender_is_rejected(his):
    ack = send(adt("A01", "MSG0010", "MR-1010", application="OTHER", facility="NOWHERE"))
    assert ack_code(ack) == "AR"
    assert ack_field(ack, "ERR.F3.R1.C1") == "204"
    assert patients() == []
    log = InboundMessage.objects.unscoped("test").get()
    assert (log.outcome, log.member_system) == ("AR", None)


def test_a_rejected_message_is_processed_when_sent_again(his):
    message = adt("A01", "MSG0011", "MR-1011", facility="COUNTY_X")
    assert ack_code(send(message)) == "AR"
    his.sending_facility = "COUNTY_X"
    his.save()
    assert ack_code(send(message)) == "AA"
    assert len(patients()) == 1


def test_an_unsupported_message_type_is_rejected(his):
    message = adt("A01", "MSG0012", "MR-1012").replace("ADT^A01^ADT_A01", "ADT^A99^ADT_A01")
    ack = send(message)
    assert ack_code(ack) == "AR" and ack_field(ack, "ERR.F3.R1.C1") == "201"
    lab = adt("A01", "MSG0013", "MR-1013").replace("ADT^A01^ADT_A01", "ZZZ^Z01")
    assert ack_field(send(lab), "ERR.F3.R1.C1") == "200"
    assert patients() == []


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("UNICODE UTF-8", "utf-8"), ("GB 18030-2000", "gb18030"), ("", "utf-8"), ("", "gb18030")],
)
def test_chinese_character_sets(his, charset, encoding):
    message = adt("A01", f"CS-{encoding}", "MR-2001", name=("欧阳", "娜娜"), charset=charset)
    ack = send(message, encoding)
    assert ack_code(ack.decode(encoding)) == "AA"
    assert patients()[0].name == "欧阳娜娜"


def test_gb18030_senders_get_a_gb18030_ack(his):
    # An AE's reason can be Chinese text; the ACK says what it is encoded in.
    message = adt("A01", "CS-GB", "MR-2002", charset="GB 18030-2000", sex="Q")
    ack = send(message, "gb18030")
    assert ack_field(ack.decode("gb18030"), "MSH.F18") == "GB 18030-2000"


@pytest.mark.parametrize(
    "raw",
    [
        b"PID|1||MR-1^^^COUNTY_A^MR",  # no MSH
        b"MSH^~\\&|HIS",  # bad delimiters
        b"MSH|||||HIS",  # separators repeat
        bytes(range(256)) * 4,  # binary garbage
        b"",
        b"MSH|^~\\&|HIS|COUNTY_A|TELEMED|PROV|2026||ADT^A01|C1|P|2.5||||||KOI8-R\r",
    ],
)
def test_malformed_messages_are_rejected(his, raw):
    ack = inbound.receive(raw)
    assert ack_code(ack) == "AR"
    assert patients() == []


def test_a_message_that_is_not_valid_in_its_charset_is_rejected(his):
    message = adt("A01", "MSG0014", "MR-1014").encode("gb18030")
    assert ack_code(inbound.receive(message)) == "AR"  # says UTF-8, is GB18030
    assert patients() == []


def test_a_garbage_segment_after_msh_is_rejected(his):
    message = adt("A01", "MSG0015", "MR-1015") + "\x00\x01\x02binary\r"
    assert ack_code(send(message)) == "AR"
    assert patients() == []


def test_refusals_are_explained_in_chinese_by_default(his):
    from django.utils import translation

    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    with translation.override("zh-hans"):
        ack = send(adt("A01", "ZH1", "MR-ZH1", application="NOBODY"))
    assert "未知的发送方 NOBODY/COUNTY_A" in ack_field(ack, "ERR.F8")


def test_every_catalogue_entry_is_translated():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(inbound.__file__).parent / "locale/zh_Hans/LC_MESSAGES/django.po"
    with po.open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if message.id:
            assert message.string and not message.fuzzy, message.id


def test_escaped_delimiters_in_data_are_read_once(his):
    message = adt("A01", "ESC1", "MR-ESC1", address="人民路1号\\F\\2\\E\\3^^安阳县^河南省")
    assert ack_code(send(message)) == "AA"
    assert patients()[0].address == "河南省安阳县人民路1号|2\\3"


def test_a_rejected_message_counts_each_time_it_is_received(his):
    message = adt("A01", "CNT1", "MR-CNT1", facility="ELSEWHERE")
    for _ in range(3):
        send(message)
    assert InboundMessage.objects.unscoped("test").get().times_received == 3


def test_a_person_known_elsewhere_by_resident_id_is_linked_not_copied(his, charlie):
    known = register(charlie, "张秀英", "B-77", resident_id=RESIDENT_ID).patient
    ack = send(adt("A01", "LINK1", "MR-LINK1", resident_id=RESIDENT_ID))
    assert ack_code(ack) == "AA"
    assert [p.pk for p in patients()] == [known.pk]
    numbers = PatientRegistration.objects.unscoped("test").filter(patient=known)
    assert sorted(numbers.values_list("record_number", flat=True)) == ["B-77", "MR-LINK1"]


def test_an_update_cannot_reach_another_institutions_record(his, charlie):
    other = register(charlie, "李桂兰", "B-78", birth_date=dt.date(1955, 1, 2)).patient
    send(adt("A08", "REACH1", "B-78", name=("王", "五"), phone="13000000000"))
    other.refresh_from_db()
    assert (other.name, other.phone) == ("李桂兰", "")


def test_values_too_long_for_the_record_are_refused_not_dropped(his):
    ack = send(adt("A01", "LONG1", "MR-LONG1", name=("张", "秀" * 120)))
    assert ack_code(ack) == "AE"
    assert "PID-5" in ack_field(ack, "ERR.F8")
    assert patients() == []


def test_an_overlong_control_id_is_rejected(his):
    ack = send(adt("A01", "C" * 250, "MR-LONG2"))
    assert ack_code(ack) == "AR"
    assert not InboundMessage.objects.unscoped("test").exists()
