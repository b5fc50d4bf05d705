"""The ECG pages: send, worklist, case with viewer, claim, report, PDF; and who gets 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from telemed.consultations.models import Consultation
from telemed.ecg.testing import send, wfdb_files
from telemed.testing import sign_in


@pytest.fixture
def settings_no_2fa(settings):
    settings.REQUIRE_SECOND_FACTOR = False
    return settings


def test_a_requester_sends_an_ecg_from_the_page(client, world):
    sign_in(client, world.requester)
    assert client.get("/ecg/new/").status_code == 200
    files = [SimpleUploadedFile(n, c) for n, c in wfdb_files().items()]
    response = client.post(
        "/ecg/new/", {"patient_id": world.patient.pk, "files": files, "urgency": "urgent"}
    )
    assert response.status_code == 302, response.content[:500]
    case = Consultation.objects.unscoped("test").get(kind="ecg")
    assert response["Location"] == f"/ecg/{case.pk}/"
    assert (case.state, case.urgency) == ("accepted", "urgent")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'data-testid="ecg-viewer"' in page.content
    assert b'data-testid="ecg-report-pending"' in page.content


def test_a_bad_file_is_refused_on_the_page(client, world):
    sign_in(client, world.requester)
    response = client.post(
        "/ecg/new/",
        {"patient_id": world.patient.pk, "files": [SimpleUploadedFile("x.hea", b"nonsense")]},
    )
    assert response.status_code == 422
    assert Consultation.objects.unscoped("test").count() == 0


def test_an_expert_claims_and_signs_from_the_pages(client, world):
    case = send(world)
    expert = world.experts[0]
    sign_in(client, expert)
    worklist = client.get("/ecg/")
    assert worklist.status_code == 200 and case.number.encode() in worklist.content
    page = client.get(f"/ecg/{case.pk}/")
    assert b'data-testid="ecg-case-claim-form"' in page.content
    assert client.post(f"/ecg/{case.pk}/claim/").status_code == 302
    page = client.get(f"/ecg/{case.pk}/")
    assert b'data-testid="ecg-report-form"' in page.content
    assert b'value="sinus_rhythm"' in page.content
    bad = client.post(
        f"/ecg/{case.pk}/report/", {"phrases": ["sinus_rhythm"], "m_heart_rate_bpm": "9000"}
    )
    assert bad.status_code == 422
    response = client.post(
        f"/ecg/{case.pk}/report/",
        {"phrases": ["sinus_rhythm", "normal_ecg"], "m_heart_rate_bpm": "61", "m_pr_ms": "158"},
    )
    assert response.status_code == 302
    saved = Consultation.objects.unscoped("test").get(pk=case.pk)
    assert saved.state == "concluded"
    conclusion = saved.conclusions.get()
    assert "61" in conclusion.findings and conclusion.icd10_codes == ["Z01.8"]
    pdf = client.get(f"/ecg/{case.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.logout()
    sign_in(client, world.requester)
    fragment = client.get(f"/ecg/{case.pk}/report/fragment/")
    assert b'data-testid="ecg-report-diagnosis"' in fragment.content


@pytest.mark.parametrize("who", ["off_duty", "other_pool_expert"])
def test_outsiders_get_404_on_the_case_page(client, world, who):
    case = send(world)
    sign_in(client, getattr(world, who))
    assert client.get(f"/ecg/{case.pk}/").status_code == 404
    assert client.post(f"/ecg/{case.pk}/claim/").status_code == 404
    assert client.get(f"/api/ecg/cases/{case.pk}/samples").status_code == 404
    assert case.number.encode() not in client.get("/ecg/").content


def test_charlie_gets_404(client, world, charlie):
    case = send(world)
    sign_in(client, charlie)
    assert client.get(f"/ecg/{case.pk}/").status_code == 404
    assert client.get(f"/api/ecg/cases/{case.pk}").status_code == 404
    assert client.get("/ecg/new/").status_code == 200


def test_the_pages_speak_chinese(client, world):
    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    case = send(world, heart_rate=35)
    sign_in(client, world.experts[0])
    worklist = client.get("/ecg/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "心电诊断资源池" in worklist and "领取" in worklist and "危急" in worklist
    page = client.get(f"/ecg/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "窦性心动过缓" in page and "心率过低" in page and "走纸速度" in page


def test_the_consultation_pages_show_an_ecg_case_too(client, world):
    case = send(world)
    sign_in(client, world.requester)
    assert client.get("/consultations/").status_code == 200
    assert client.get(f"/consultations/{case.pk}/").status_code == 200
    client.logout()
    sign_in(client, world.experts[0])
    assert client.get(f"/consultations/{case.pk}/").status_code == 200


def test_an_off_duty_expert_is_told_why_the_list_is_empty(client, world):
    send(world)
    sign_in(client, world.off_duty)
    page = client.get("/ecg/")
    assert b'data-testid="ecg-off-duty"' in page.content
    assert b'data-testid="ecg-row"' not in page.content
    client.logout()
    sign_in(client, world.experts[0])
    assert b'data-testid="ecg-off-duty"' not in client.get("/ecg/").content
