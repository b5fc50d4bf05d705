"""The pathology report: signed through the conclude step with its key images bound by
their SHA-256, parsed back, refused when incomplete, printed as a PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemed.consultations import signing
from telemed.core.errors import ValidationFailed
from telemed.pathology import report, services, testing
from telemed.testing import sign_in

REPORT = {
    "gross": "灰白色组织条2条，长0.8–1.2 cm。",
    "microscopic": "浸润性导管癌，腺管形成少，核多形性明显。",
    "diagnosis": "（左乳）浸润性导管癌，II级",
    "icd10_codes": ["C50.4"],
    "recommendations": "建议行 HER2 FISH 检测。",
    "immunohistochemistry": [
        {"marker": "ER", "result": "90% 强阳性"},
        {"marker": "HER2", "result": "2+", "note": "需 FISH | 复核"},
        {"marker": "Ki-67", "result": "30%"},
    ],
}


@pytest.fixture
def assigned(team, case, svs: Path):
    slide = testing.upload(team.requester, case, svs)
    return testing.assign(team, case), slide


def test_report_is_signed_with_its_key_images_and_prints(client, team, assigned) -> None:
    case, slide = assigned
    image = services.take_key_image(team.expert, slide.pk, 0, 0, 1024, 768, "浸润区")
    sign_in(client, team.expert)
    body = {**REPORT, "key_image_ids": [image.pk]}
    url = f"/api/pathology/consultations/{case.pk}/report"
    signed = client.post(url, data=json.dumps(body), content_type="application/json")
    assert signed.status_code == 201, signed.content
    answer = signed.json()
    assert answer["key_image_ids"] == [image.pk] and answer["version"] == 1
    assert answer["immunohistochemistry"][1] == {
        "marker": "HER2",
        "result": "2+",
        "note": "需 FISH / 复核",
    }
    conclusion = case.conclusions.get()
    assert f"sha256:{image.blob_id}" in conclusion.signed_text
    assert signing.signature_holds(conclusion)
    parsed = report.parse(conclusion)
    assert parsed.gross == REPORT["gross"] and parsed.microscopic == REPORT["microscopic"]
    again = client.post(url, data=json.dumps(body), content_type="application/json")
    assert again.status_code == 409
    sign_in(client, team.requester)
    assert client.get(url).json()["sha256"] == conclusion.text_sha256
    document = client.get(answer["pdf_url"])
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    assert len(document.content) > 20_000  # the key image is embedded


def test_incomplete_or_foreign_reports_are_refused(team, assigned) -> None:
    case, _ = assigned
    with pytest.raises(ValidationFailed):
        report.sign(team.expert, case.pk, report.PathologyReport("", "", "x", ("C50.4",), "y"))
    with pytest.raises(ValidationFailed):
        report.sign(
            team.expert,
            case.pk,
            report.PathologyReport("", "m", "d", ("C50.4",), "r", key_image_ids=(999,)),
        )
    assert not case.conclusions.exists()
