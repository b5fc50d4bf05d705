from __future__ import annotations

import json

from telemed.consultations.testing import CHECKLIST
from telemed.testing import register, sign_in


def _post(client, user, url, body=None):
    sign_in(client, user)
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_a_case_through_the_api(client, team):
    patient = register(team.requester, "张秀英", "A-0001").patient
    body = {
        "patient_id": patient.pk,
        "clinical_summary": "胸痛三天",
        "question": "是否介入？",
        "urgency": "urgent",
        "wanted_specialty": "cardiology",
        "consent_confirmed": True,
    }
    created = _post(client, team.requester, "/api/consultations/", body)
    assert created.status_code == 201, created.content
    case = created.json()
    assert case["state"] == "draft" and "submit" in case["allowed_actions"]
    url = f"/api/consultations/{case['id']}"

    assert _post(client, team.requester, f"{url}/submit").json()["state"] == "submitted"
    qc = _post(client, team.qc, f"{url}/quality-check", {"accept": True, "checklist": CHECKLIST})
    assert qc.json()["state"] == "accepted"
    sign_in(client, team.manager)
    suggestions = client.get(f"{url}/suggestions").json()
    assert suggestions[0]["expert"]["id"] == team.expert.pk
    assert (
        _post(client, team.manager, f"{url}/triage", {"expert_id": team.expert.pk}).json()["state"]
        == "assigned"
    )
    booked = _post(
        client,
        team.manager,
        f"{url}/schedule",
        {"start": "2026-12-01T09:00:00+08:00", "room_id": team.room.pk},
    )
    assert booked.json()["state"] == "scheduled"
    sign_in(client, team.expert)
    assert [c["id"] for c in client.get("/api/consultations/queues/worklist").json()["items"]] == [
        case["id"]
    ]
    signed = _post(
        client,
        team.expert,
        f"{url}/conclusion",
        {
            "findings": "ST段压低",
            "diagnosis": "不稳定型心绞痛",
            "icd10_codes": ["I20.0"],
            "recommendations": "冠脉造影",
        },
    )
    assert signed.status_code == 200, signed.content
    assert signed.json()["conclusion"]["signature_holds"] is True
    assert _post(client, team.requester, f"{url}/close").json()["state"] == "closed"
    sign_in(client, team.requester)
    history = client.get(f"{url}/history").json()
    assert [h["action"] for h in history] == [
        "create",
        "submit",
        "qc_accept",
        "triage",
        "schedule",
        "conclude",
        "close",
    ]


def test_illegal_transition_is_409_with_a_message(client, team):
    patient = register(team.requester, "张秀英", "A-0001").patient
    case = _post(client, team.requester, "/api/consultations/", {"patient_id": patient.pk}).json()
    response = _post(
        client,
        team.manager,
        f"/api/consultations/{case['id']}/triage",
        {"expert_id": team.expert.pk},
    )
    assert response.status_code == 409
    assert case["number"] in response.json()["message"]


def test_incomplete_submit_is_422_with_fields(client, team):
    patient = register(team.requester, "张秀英", "A-0001").patient
    case = _post(client, team.requester, "/api/consultations/", {"patient_id": patient.pk}).json()
    response = _post(client, team.requester, f"/api/consultations/{case['id']}/submit")
    assert response.status_code == 422
    assert {"clinical_summary", "question", "consent_confirmed"} <= set(response.json()["fields"])


def test_another_institutions_patient_is_404(client, team, charlie):
    other = register(charlie, "王建国", "B-0001").patient
    response = _post(client, team.requester, "/api/consultations/", {"patient_id": other.pk})
    assert response.status_code == 404


def test_forged_requesting_institution_is_403(client, team):
    patient = register(team.requester, "张秀英", "A-0001").patient
    response = _post(
        client,
        team.requester,
        "/api/consultations/",
        {"patient_id": patient.pk, "requesting_institution": "COUNTY_B"},
    )
    assert response.status_code == 403


def test_double_booking_is_409_naming_the_clash(client, team):
    from telemed.consultations.testing import advance, draft

    first = advance(team, draft(team), "scheduled")
    second = advance(team, draft(team, patient_name="王建国", record="A-0002"), "assigned")
    response = _post(
        client,
        team.manager,
        f"/api/consultations/{second.pk}/schedule",
        {"start": str(first.scheduled_start), "room_id": team.room.pk},
    )
    assert response.status_code == 409
    assert first.number in response.json()["message"] and response.json()["clashes"]
