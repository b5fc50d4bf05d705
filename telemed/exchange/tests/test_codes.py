"""Code mapping at the border: local diagnosis, test, drug and unit codes mapped to ICD-10,
LOINC, the drug list and UCUM (with conversion); unmapped codes queued, never dropped."""

from __future__ import annotations

import pytest

from telemed.consultations.models import Consultation
from telemed.core.errors import PermissionDenied, ValidationFailed
from telemed.directory.models import Disease
from telemed.exchange import codes, inbound
from telemed.exchange.models import CodeKind, UnmappedCode
from telemed.exchange.testing import ack_code, order
from telemed.testing import make_user


@pytest.fixture
def steward(network):
    return make_user("steward", "administrator", network.province)


@pytest.fixture
def ordering(his):
    Disease.objects.create(icd10="I20.0", name="不稳定型心绞痛", name_en="Unstable angina")
    his.accepts_orders = True
    his.save()
    return his


LOCAL_ORDER_TAIL = (
    "DG1|1||XJT01^心绞痛^L\r"
    "OBX|1|NM|HB^血红蛋白^L||121|g/L^^L\r"
    "OBX|2|NM|K^血钾^L||4.1|mmol/L^^L\r"
    "RXO|ASP100^阿司匹林肠溶片^L\r"
)


def local_order(control_id: str) -> str:
    base = order(control_id, "MR-C1").rsplit("DG1|", 1)[0]
    return base + LOCAL_ORDER_TAIL


def test_unmapped_codes_are_queued_and_kept_as_sent(ordering):
    assert ack_code(inbound.receive(local_order("C1").encode())) == "AA"
    case = Consultation.objects.unscoped("test").get()
    assert case.disease is None
    assert "心绞痛 [local code XJT01, not yet mapped]" in case.clinical_summary
    assert "血红蛋白 [local code HB, not yet mapped]: 121 g/L" in case.clinical_summary
    assert "阿司匹林肠溶片 [local code ASP100" in case.clinical_summary
    queued = {(q.kind, q.local_code) for q in codes.open_queue(ordering.institution)}
    assert queued == {
        ("diagnosis", "XJT01"),
        ("test", "HB"),
        ("test", "K"),
        ("unit", "g/L"),
        ("unit", "mmol/L"),
        ("drug", "ASP100"),
    }
    inbound.receive(local_order("C2").encode())
    assert UnmappedCode.objects.get(local_code="XJT01").times_seen == 2


def test_mapped_codes_arrive_standard_with_units_converted(ordering, steward):
    institution = ordering.institution
    codes.map_code(steward, institution, CodeKind.DIAGNOSIS, "XJT01", "I20.0", "不稳定型心绞痛")
    codes.map_code(steward, institution, CodeKind.TEST, "HB", "718-7", "Hemoglobin")
    codes.map_code(steward, institution, CodeKind.UNIT, "g/L", "g/dL", factor=0.1)
    codes.map_code(steward, institution, CodeKind.DRUG, "ASP100", "XB01AC06", "阿司匹林")
    assert ack_code(inbound.receive(local_order("C3").encode())) == "AA"
    case = Consultation.objects.unscoped("test").get()
    assert case.disease is not None and case.disease.icd10 == "I20.0"
    assert "Hemoglobin [LOINC 718-7]: 12.1 g/dL" in case.clinical_summary
    assert "阿司匹林 [drug list XB01AC06]" in case.clinical_summary
    # K and mmol/L are still unmapped: queued, and written as sent.
    assert "血钾 [local code K, not yet mapped]: 4.1 mmol/L" in case.clinical_summary
    waiting = {q.local_code for q in codes.open_queue(institution)}
    assert waiting == {"K", "mmol/L"}


def test_mapping_a_queued_code_resolves_it(ordering, steward):
    inbound.receive(local_order("C4").encode())
    mapping = codes.map_code(
        steward, ordering.institution, CodeKind.TEST, "K", "2823-3", "Potassium"
    )
    entry = UnmappedCode.objects.get(local_code="K")
    assert entry.mapping == mapping and entry.resolved_at is not None


def test_codes_sent_in_the_standard_need_no_mapping(ordering):
    found = codes.translate(ordering.institution, CodeKind.DIAGNOSIS, "I20.0", system="I10")
    assert found is not None and found.code == "I20.0"
    assert not UnmappedCode.objects.exists()


def test_conversions_with_an_offset(ordering, steward):
    codes.map_code(
        steward, ordering.institution, CodeKind.UNIT, "degF", "Cel", factor=5 / 9, offset=-160 / 9
    )
    found = codes.translate(ordering.institution, CodeKind.UNIT, "degF")
    assert found is not None and round(found.convert(98.6), 1) == 37.0


@pytest.mark.parametrize(
    ("kind", "standard", "field"),
    [
        (CodeKind.DIAGNOSIS, "angina", "standard_code"),
        (CodeKind.TEST, "7187", "standard_code"),
        ("smell", "x", "kind"),
    ],
)
def test_bad_mappings_are_refused(ordering, steward, kind, standard, field):
    with pytest.raises(ValidationFailed) as refused:
        codes.map_code(steward, ordering.institution, kind, "LOCAL", standard)
    assert field in refused.value.details["fields"]  # type: ignore[operator]


def test_only_a_unit_converts(ordering, steward):
    with pytest.raises(ValidationFailed):
        codes.map_code(steward, ordering.institution, CodeKind.TEST, "HB", "718-7", factor=10)


def test_a_requesting_doctor_cannot_map_codes(ordering, alice):
    with pytest.raises(PermissionDenied):
        codes.map_code(alice, ordering.institution, CodeKind.TEST, "HB", "718-7")
