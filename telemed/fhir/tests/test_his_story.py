"""The external HIS story, over HTTP with a real FHIR client (fhirclient, R4 models):
submit a consultation as a transaction (Patient + ServiceRequest + Task), follow the Task
as the platform's people move the case, read the DiagnosticReport once it is signed."""

from __future__ import annotations

import datetime as dt

import requests
from fhirclient import client as fhir_client
from fhirclient.models.bundle import Bundle as ClientBundle
from fhirclient.models.capabilitystatement import CapabilityStatement as ClientCapability
from fhirclient.models.diagnosticreport import DiagnosticReport as ClientReport
from fhirclient.models.patient import Patient as ClientPatient
from fhirclient.models.task import Task as ClientTask

from telemed.accounts.services import create_api_client
from telemed.consultations import services
from telemed.consultations.models import Consultation
from telemed.consultations.testing import CHECKLIST, CONCLUSION
from telemed.fhir.services import grant_scopes
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import valid


def connect(base: str, code: str, scopes: str) -> fhir_client.FHIRClient:
    """A HIS's FHIR client holding a client-credentials token (fetched over HTTP)."""
    created = create_api_client(code)
    grant_scopes(created.client_id, scopes)
    token = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(created.client_id, created.client_secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    smart = fhir_client.FHIRClient(settings={"app_id": f"{code}-his", "api_base": f"{base}/fhir"})
    smart.server.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return smart


def task_state(smart: fhir_client.FHIRClient, number: str) -> tuple[str, str, str]:
    response = smart.server.request_json(f"Task/{number}")
    valid(response)
    task = ClientTask(response)
    return task.status, task.businessStatus.coding[0].code, task.meta.versionId


def test_a_hospital_submits_and_follows_a_consultation(live_server, network, team):
    smart = connect(live_server.url, "COUNTY_A", "system/*.cruds")
    capability = ClientCapability(smart.server.request_json("metadata"))
    assert capability.fhirVersion == "4.0.1"

    response = smart.server.post_json("", make.consultation_bundle())
    assert response.status_code == 200, response.text
    answer = response.json()
    valid(answer)
    bundle = ClientBundle(answer)
    assert bundle.type == "transaction-response"
    assert [entry.response.status for entry in bundle.entry] == ["201", "201", "201"]
    task_entry, patient_entry, request_entry = bundle.entry
    number = task_entry.resource.id
    assert request_entry.resource.id == number
    assert task_entry.resource.focus.reference == f"ServiceRequest/{number}"
    patient = ClientPatient.read(patient_entry.resource.id, smart.server)
    assert patient.name[0].text == "王淑芬"

    case = Consultation.objects.unscoped("test").get(number=number)
    assert case.state == "submitted" and case.requesting_institution.code == "COUNTY_A"
    assert task_state(smart, number)[:2] == ("requested", "submitted")

    unsigned = smart.server.request_json(f"DiagnosticReport?based-on=ServiceRequest/{number}")
    assert unsigned.get("entry", []) == []  # nothing to read before the expert signs

    seen = []
    steps = [
        lambda: services.quality_check(team.qc, case.pk, accept=True, checklist=CHECKLIST),
        lambda: services.triage(team.manager, case.pk, expert_id=team.expert.pk),
        lambda: services.schedule(
            team.manager,
            case.pk,
            start=dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC),
            room_id=team.room.pk,
        ),
        lambda: services.conclude(team.expert, case.pk, CONCLUSION),
    ]
    for step in steps:
        step()
        seen.append(task_state(smart, number))
    assert [(status, state) for status, state, _v in seen] == [
        ("received", "accepted"),
        ("accepted", "assigned"),
        ("ready", "scheduled"),
        ("completed", "concluded"),
    ]
    assert [int(version) for *_s, version in seen] == [2, 3, 4, 5]

    reports = list(
        ClientReport.where(struct={"based-on": f"ServiceRequest/{number}"}).perform_resources_iter(
            smart.server
        )
    )
    assert len(reports) == 1
    assert reports[0].status == "final" and reports[0].conclusion == CONCLUSION.diagnosis
    valid(reports[0].as_json())
    document = smart.server.request_json(f"DocumentReference/{reports[0].id}")
    valid(document)
    assert document["docStatus"] == "final"

    included = smart.server.request_json(f"Task?patient=Patient/{patient.id}&_include=Task:focus")
    valid(included)
    modes = sorted((e["resource"]["resourceType"], e["search"]["mode"]) for e in included["entry"])
    assert modes == [("ServiceRequest", "include"), ("Task", "match")]

    # Another county's HIS sees none of it.
    other = connect(live_server.url, "COUNTY_B", "system/*.rs")
    assert other.server.request_json(f"Task?patient=Patient/{patient.id}").get("entry", []) == []
    missing = other.server.session.get(f"{live_server.url}/fhir/Task/{number}", timeout=10)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
