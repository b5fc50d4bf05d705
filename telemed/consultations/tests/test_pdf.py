from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from telemed.audit.models import AuditEvent
from telemed.consultations import pdf, services, signing
from telemed.consultations.models import Conclusion
from telemed.consultations.testing import CONCLUSION, advance, draft
from telemed.testing import sign_in

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeezed(text: str) -> str:
    # Text extraction may break lines where the layout wrapped them.
    return "".join(text.split())


@pytest.fixture
def concluded(team):
    return advance(team, draft(team), "concluded")


def test_the_pdf_shows_the_signed_conclusion_in_chinese(client, team, concluded):
    conclusion = Conclusion.objects.visible_to(team.requester).get(consultation=concluded)
    sign_in(client, team.requester)
    response = client.get(f"/consultations/{concluded.pk}/conclusion.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"{concluded.number}-v1.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")
    text = text_of(response.content)
    flat = squeezed(text)
    assert "不稳定型心绞痛" in text
    assert conclusion.text_sha256 in text
    for expected in (
        concluded.number,
        "张秀英",  # the patient
        "1960-05-17",
        "安阳县人民医院",  # the requesting institution
        "I20.0",
        "窦性心律，ST段压低。",
        "建议冠脉造影，转上级医院。",
        "省远程医学中心",  # the signer's institution
    ):
        assert squeezed(expected) in flat, expected
    # The signed text itself is printed, so the hash can be checked from the page.
    assert squeezed(conclusion.signed_text) in flat
    assert signing.digest(conclusion.signed_text) == conclusion.text_sha256
    assert AuditEvent.objects.filter(
        object_type="consultation_conclusion",
        action="export",
        object_id=str(conclusion.pk),
        actor="alice",
    ).exists()


def test_versions_and_amendments(client, team, concluded):
    amended = services.amend(
        team.expert,
        concluded.pk,
        signing.ConclusionDraft(
            findings="窦性心律，ST段压低，肌钙蛋白升高。",
            diagnosis="急性非ST段抬高型心肌梗死",
            icd10_codes=("I21.4",),
            recommendations="立即转上级医院行冠脉造影。",
            amendment_reason="补充肌钙蛋白结果",
        ),
    )
    sign_in(client, team.requester)
    latest = text_of(client.get(f"/consultations/{concluded.pk}/conclusion.pdf").content)
    assert "急性非ST段抬高型心肌梗死" in latest and "补充肌钙蛋白结果" in latest
    assert amended.text_sha256 in latest
    first = text_of(client.get(f"/consultations/{concluded.pk}/conclusion.pdf?version=1").content)
    assert "不稳定型心绞痛" in first and "补充肌钙蛋白结果" not in first
    assert client.get(f"/consultations/{concluded.pk}/conclusion.pdf?version=3").status_code == 404
    assert client.get(f"/consultations/{concluded.pk}/conclusion.pdf?version=x").status_code == 404


def test_a_case_without_a_conclusion_is_404(client, team):
    case = advance(team, draft(team), "scheduled")
    sign_in(client, team.requester)
    assert client.get(f"/consultations/{case.pk}/conclusion.pdf").status_code == 404


def test_another_county_is_404(client, team, concluded, charlie):
    sign_in(client, charlie)
    assert client.get(f"/consultations/{concluded.pk}/conclusion.pdf").status_code == 404
    assert not AuditEvent.objects.filter(actor="charlie", action="export").exists()
    assert AuditEvent.objects.filter(actor="charlie", outcome="denied").exists()


def test_anonymous_is_sent_to_sign_in(client, concluded):
    response = client.get(f"/consultations/{concluded.pk}/conclusion.pdf")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_default_font_needs_no_file(team, concluded):
    conclusion = concluded.conclusions.get()
    data = pdf.render(concluded, conclusion)
    assert b"STSong-Light" in data
    assert CONCLUSION.diagnosis in text_of(data)


@pytest.mark.skipif(not WQY.exists(), reason="no TrueType CJK font installed")
def test_an_embedded_truetype_font(settings, team, concluded):
    settings.CONCLUSION_PDF_FONT = str(WQY)
    settings.CONCLUSION_PDF_FONT_INDEX = 0
    conclusion = concluded.conclusions.get()
    data = pdf.render(concluded, conclusion)
    assert b"STSong-Light" not in data and b"FontFile2" in data  # glyphs inside the file
    text = text_of(data)
    assert CONCLUSION.diagnosis in text and conclusion.text_sha256 in text
