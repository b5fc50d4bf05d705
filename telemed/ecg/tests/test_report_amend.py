"""Amending a signed ECG report: a new signed version by the signer with a reason, with its
own phrases and measurements; the first version stays; anyone else, or no reason, changes
nothing."""

from __future__ import annotations

import pytest

from telemed.consultations.models import Conclusion, Consultation
from telemed.core.errors import DomainError
from telemed.ecg import reports, services
from telemed.ecg.models import EcgReport
from telemed.ecg.testing import send
from telemed.testing import sign_in

FIRST = reports.ReportDraft(phrases=("sinus_rhythm",), measurements={"heart_rate_bpm": 61.0})
SECOND = reports.ReportDraft(
    phrases=("sinus_bradycardia",), measurements={"heart_rate_bpm": 48.0}, findings="复核"
)


def _signed(world):
    case = send(world)
    expert = world.experts[0]
    services.claim(expert, case.pk)
    reports.sign_report(expert, case.pk, FIRST)
    return case, expert


def test_the_signer_amends_with_a_reason(world):
    case, expert = _signed(world)
    amended = reports.amend_report(expert, case.pk, SECOND, reason="心率复测")
    versions = (
        Conclusion.objects.unscoped("test").filter(consultation_id=case.pk).order_by("version")
    )
    assert [c.version for c in versions] == [1, 2]
    assert amended.supersedes_id == versions[0].pk
    assert "心率复测" in amended.signed_text and amended.amendment_reason == "心率复测"
    structured = {r.conclusion.version: r for r in EcgReport.objects.unscoped("test")}
    assert structured[1].phrases == ["sinus_rhythm"]
    assert structured[2].phrases == ["sinus_bradycardia"]
    assert structured[2].measurements["heart_rate_bpm"] == 48.0
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "concluded"


@pytest.mark.parametrize("who", ["other_expert", "no_reason", "bad_measurement"])
def test_a_refused_amendment_writes_nothing(world, who):
    case, expert = _signed(world)
    actor, draft, reason = expert, SECOND, "复测"
    if who == "other_expert":
        actor = world.experts[1]
    elif who == "no_reason":
        reason = "  "
    else:
        draft = reports.ReportDraft(phrases=("sinus_rhythm",), measurements={"pr_ms": 9000.0})
    with pytest.raises(DomainError):
        reports.amend_report(actor, case.pk, draft, reason=reason)
    assert Conclusion.objects.unscoped("test").filter(consultation_id=case.pk).count() == 1
    assert EcgReport.objects.unscoped("test").count() == 1


def test_the_case_page_offers_the_amendment_and_shows_the_versions(client, world):
    case, expert = _signed(world)
    sign_in(client, expert)
    page = client.get(f"/ecg/{case.pk}/")
    assert b'data-testid="ecg-amend-form"' in page.content
    assert b'id="ph-sinus_rhythm" autocomplete="off" checked' in page.content
    refused = client.post(f"/ecg/{case.pk}/amend/", {"phrases": ["sinus_bradycardia"]})
    assert refused.status_code == 422
    assert Conclusion.objects.unscoped("test").filter(consultation_id=case.pk).count() == 1
    response = client.post(
        f"/ecg/{case.pk}/amend/",
        {
            "phrases": ["sinus_bradycardia"],
            "m_heart_rate_bpm": "48",
            "amendment_reason": "心率复测",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/ecg/{case.pk}/")
    assert b'data-testid="ecg-report-version"' in page.content
    assert "心率复测".encode() in page.content
    pdf = client.get(f"/ecg/{case.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.logout()
    sign_in(client, world.requester)
    page = client.get(f"/ecg/{case.pk}/")
    assert b'data-testid="ecg-amend-form"' not in page.content
    assert client.post(f"/ecg/{case.pk}/amend/", {"amendment_reason": "x"}).status_code == 404
