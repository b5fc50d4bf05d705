"""The imaging report: written and signed by the assigned expert through the case's
``conclude`` step, read by the requester, printed as a PDF; incomplete or out-of-turn
reports change nothing."""

from __future__ import annotations

import pytest

from telemed.audit.models import AuditEvent
from telemed.consultations import signing
from telemed.consultations.models import Conclusion, Consultation
from telemed.consultations.states import State
from telemed.consultations.testing import CONCLUSION, build_team
from telemed.imaging import report
from telemed.imaging.models import CaseStudy
from telemed.imaging.testing import received_study
from telemed.imaging.tests.test_pages_studies import assign, client_for, imaging_case
from telemed.testing import make_expert

FORM = {
    "technique": "胸部 CT 平扫，层厚 1 mm。",
    "findings": "右肺上叶见 12 mm 结节，边缘毛刺。",
    "impression": "右肺上叶结节，考虑肺癌可能。",
    "icd10_codes": "R91, C34.1",
    "recommendations": "建议增强 CT 及活检。",
}


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


@pytest.fixture
def case(team, network) -> Consultation:
    case = imaging_case(team)
    study = received_study(network.county_a, "A-0001", slices=2)
    CaseStudy.objects.create(consultation=case, study=study, attached_by=team.requester)
    assign(team, case)
    return case


def _state(case: Consultation) -> str:
    return Consultation.objects.unscoped("test").get(pk=case.pk).state


def test_the_expert_signs_and_the_requester_reads_the_report(team, case):
    expert = client_for(team.expert)
    assert expert.get(f"/imaging/cases/{case.pk}/report/").status_code == 200
    answer = expert.post(f"/imaging/cases/{case.pk}/report/", FORM)
    assert answer.status_code == 302
    assert _state(case) == State.CONCLUDED
    conclusion = Conclusion.objects.unscoped("test").get(consultation=case)
    assert signing.signature_holds(conclusion)
    for part in ("技术 Technique", FORM["technique"], FORM["findings"], FORM["impression"]):
        assert part in conclusion.signed_text
    parsed = report.parse(conclusion)
    assert parsed.technique == FORM["technique"] and parsed.findings == FORM["findings"]
    assert parsed.impression == FORM["impression"] and parsed.icd10_codes == ("R91", "C34.1")
    requester = client_for(team.requester)
    page = requester.get(f"/imaging/cases/{case.pk}/").content.decode()
    assert 'data-testid="imaging-report"' in page and FORM["impression"] in page
    assert conclusion.text_sha256 in page
    pdf = requester.get(f"/imaging/cases/{case.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        actor=team.requester, action="export", object_id=str(conclusion.pk)
    ).exists()


def test_an_incomplete_report_is_refused_and_nothing_is_signed(team, case):
    expert = client_for(team.expert)
    answer = expert.post(
        f"/imaging/cases/{case.pk}/report/",
        {**FORM, "impression": " ", "icd10_codes": "not-a-code"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 422
    html = answer.content.decode()
    assert 'data-testid="error-impression"' in html and 'data-testid="error-icd10_codes"' in html
    empty = expert.post(f"/imaging/cases/{case.pk}/report/", {**FORM, "findings": ""})
    assert empty.status_code == 422 and 'data-testid="error-findings"' in empty.content.decode()
    assert not Conclusion.objects.unscoped("test").exists()
    assert _state(case) == State.ASSIGNED


def test_others_cannot_sign_and_a_second_signature_is_a_conflict(team, case, network):
    assert (
        client_for(team.requester).post(f"/imaging/cases/{case.pk}/report/", FORM).status_code
        == 404
    )
    outsider = make_expert("dr_li", network.province, network.cardiology)
    assert client_for(outsider).post(f"/imaging/cases/{case.pk}/report/", FORM).status_code == 404
    assert client_for(outsider).get(f"/imaging/cases/{case.pk}/report.pdf").status_code == 404
    assert not Conclusion.objects.unscoped("test").exists()
    expert = client_for(team.expert)
    assert client_for(team.requester).get(f"/imaging/cases/{case.pk}/report.pdf").status_code == 404
    assert expert.post(f"/imaging/cases/{case.pk}/report/", FORM).status_code == 302
    again = expert.post(f"/imaging/cases/{case.pk}/report/", FORM)
    assert again.status_code == 409
    assert Conclusion.objects.unscoped("test").count() == 1
    assert expert.get(f"/imaging/cases/{case.pk}/report/").status_code == 409


def test_a_conclusion_not_written_as_a_report_parses_as_findings(team, case):
    conclusion = report.sign(
        team.expert,
        case.pk,
        report.ImagingReport("", CONCLUSION.findings, "x", ("I20.0",), "y"),
    )
    assert report.parse(conclusion).technique == ""
    conclusion.findings = "plain text"
    assert report.parse(conclusion).findings == "plain text"


def test_an_amendment_is_a_new_signed_version_with_its_reason(team, case):
    expert = client_for(team.expert)
    expert.post(f"/imaging/cases/{case.pk}/report/", FORM)
    form = expert.get(f"/imaging/cases/{case.pk}/report/amend/").content.decode()
    assert FORM["technique"] in form and 'data-testid="amending-version"' in form
    url = f"/imaging/cases/{case.pk}/report/amend/"
    missing = expert.post(url, {**FORM, "amendment_reason": ""})
    assert missing.status_code == 422
    assert 'data-testid="error-amendment_reason"' in missing.content.decode()
    amended = {**FORM, "impression": "右肺上叶结节，考虑炎性。", "amendment_reason": "复核"}
    assert expert.post(url, amended).status_code == 302
    versions = Conclusion.objects.unscoped("test").filter(consultation=case).order_by("version")
    assert [c.version for c in versions] == [1, 2]
    latest = versions.last()
    assert latest is not None and latest.supersedes_id == versions.first().pk  # type: ignore[union-attr]
    assert report.parse(latest).impression == amended["impression"]
    assert "复核" in latest.signed_text and signing.signature_holds(latest)
    assert client_for(team.requester).get(url).status_code == 404


def test_the_case_page_leads_to_the_imaging_report_not_the_generic_form(team, case):
    expert = client_for(team.expert)
    page = expert.get(f"/consultations/{case.pk}/").content.decode()
    assert f'href="/imaging/cases/{case.pk}/report/" data-testid="action-conclude"' in page
    generic = expert.get(f"/consultations/{case.pk}/conclusion/")
    assert generic.status_code == 302 and generic["Location"] == f"/imaging/cases/{case.pk}/report/"
    assert _state(case) == State.ASSIGNED
