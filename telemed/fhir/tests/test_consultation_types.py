"""Appointment, DiagnosticReport, DocumentReference, Communication, ServiceRequest and Task
read and searched through the API, each body validated; amendments and updates."""

from __future__ import annotations

import datetime as dt

from telemed.consultations import services, signing
from telemed.consultations.testing import advance, draft
from telemed.fhir.tests.conftest import make_his, outcome, valid


def test_the_case_resources_of_a_concluded_case(network, team):
    his = make_his("COUNTY_A")
    case = advance(team, draft(team), "concluded")
    services.post_message(team.expert, case.pk, "请补充肌钙蛋白结果。")
    services.amend(
        team.expert,
        case.pk,
        signing.ConclusionDraft(
            findings="窦性心律，ST段压低。",
            diagnosis="不稳定型心绞痛",
            icd10_codes=("I20.0",),
            recommendations="冠脉造影。",
            amendment_reason="更正建议",
        ),
    )
    number = case.number
    for path in (
        f"ServiceRequest/{number}",
        f"Task/{number}",
        f"Appointment/{number}",
        f"DiagnosticReport/{number}-v1",
        f"DiagnosticReport/{number}-v2",
        f"DocumentReference/{number}-v2",
    ):
        response = his.call("GET", f"/fhir/{path}")
        assert response.status_code == 200, (path, response.content)
        valid(response.json_body)
    reports = his.call(
        "GET", f"/fhir/DiagnosticReport?based-on=ServiceRequest/{number}&status=amended"
    )
    assert [e["resource"]["id"] for e in reports.json_body["entry"]] == [f"{number}-v2"]
    documents = his.call(
        "GET", f"/fhir/DocumentReference?patient={case.patient.mpi_id}&status=current"
    )
    assert [e["resource"]["docStatus"] for e in documents.json_body["entry"]] == ["amended"]
    messages = his.call("GET", f"/fhir/Communication?based-on=ServiceRequest/{number}").json_body
    valid(messages)
    message_id = messages["entry"][0]["resource"]["id"]
    assert his.call("GET", f"/fhir/Communication/{message_id}").status_code == 200
    appointments = his.call("GET", "/fhir/Appointment?date=2026-12-01&status=fulfilled").json_body
    assert [e["resource"]["id"] for e in appointments["entry"]] == [number]
    tasks = his.call("GET", "/fhir/Task?status=completed&business-status=concluded").json_body
    assert len(tasks["entry"]) == 1
    requests = his.call(
        "GET", "/fhir/ServiceRequest?status=completed&authored=ge2020-01-01"
    ).json_body
    assert len(requests["entry"]) == 1
    with_patient = his.call(
        "GET", f"/fhir/DiagnosticReport?_id={number}-v1&_include=DiagnosticReport:subject"
    )
    assert {e["resource"]["resourceType"] for e in with_patient.json_body["entry"]} == {
        "DiagnosticReport",
        "Patient",
    }

    other = make_his("COUNTY_B")
    for path in (f"Task/{number}", f"DiagnosticReport/{number}-v1", f"Communication/{message_id}"):
        outcome(other.call("GET", f"/fhir/{path}"), 404)
    assert other.call("GET", "/fhir/DiagnosticReport").json_body.get("entry", []) == []


def test_the_his_edits_and_withdraws_its_request(network, team):
    his = make_his("COUNTY_A")
    case = draft(team)
    request = his.call("GET", f"/fhir/ServiceRequest/{case.number}").json_body
    request["priority"] = "stat"
    request.pop("meta")
    # The draft was made by alice, so the HIS (the same institution's requester) may edit it.
    edited = his.call(
        "PUT", f"/fhir/ServiceRequest/{case.number}", request, headers={"If-Match": 'W/"1"'}
    )
    assert edited.status_code == 200, edited.content
    assert edited.json_body["priority"] == "stat" and edited["ETag"] == 'W/"2"'
    task = his.call("GET", f"/fhir/Task/{case.number}").json_body
    task.pop("meta")
    submitted = his.call("PUT", f"/fhir/Task/{case.number}", {**task, "status": "requested"})
    assert submitted.json_body["businessStatus"]["coding"][0]["code"] == "submitted"
    task = submitted.json_body
    task.pop("meta")
    outcome(his.call("PUT", f"/fhir/Task/{case.number}", {**task, "status": "completed"}), 422)
    withdrawn = his.call(
        "PUT",
        f"/fhir/Task/{case.number}",
        {**task, "status": "cancelled", "statusReason": {"text": "患者已转院"}},
    )
    assert withdrawn.json_body["businessStatus"]["coding"][0]["code"] == "withdrawn"
    outcome(his.call("PUT", f"/fhir/Task/{case.number}", {**task, "id": "HZ-other"}), 400)


def test_an_unscheduled_case_has_no_appointment(network, team):
    his = make_his("COUNTY_A")
    case = advance(team, draft(team), "assigned", start=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    outcome(his.call("GET", f"/fhir/Appointment/{case.number}"), 404)
