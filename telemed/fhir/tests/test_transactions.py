"""Transaction details: urn:uuid ordering and rewriting, conditional create inside a
transaction (a HIS re-sending a patient), reads in a transaction, the scopes command."""

from __future__ import annotations

import copy
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from telemed.audit.models import AuditEvent
from telemed.fhir.models import ClientScopes
from telemed.fhir.systems import mrn_system
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import outcome, valid
from telemed.patients.models import Patient


def test_a_resent_patient_is_linked_not_doubled(his):
    first = his.call("POST", "/fhir", make.consultation_bundle())
    assert first.status_code == 200, first.content
    again = make.consultation_bundle()
    again["entry"][1]["request"]["ifNoneExist"] = f"identifier={mrn_system('COUNTY_A')}|H-0001"
    second = his.call("POST", "/fhir", again)
    assert second.status_code == 200, second.content
    valid(second.json_body)
    statuses = [e["response"]["status"] for e in second.json_body["entry"]]
    assert statuses == ["201", "200", "201"]
    assert Patient.objects.unscoped("test").count() == 1
    patient_id = second.json_body["entry"][1]["resource"]["id"]
    request = second.json_body["entry"][2]["resource"]
    assert request["subject"]["reference"] == f"Patient/{patient_id}"


def test_reads_run_after_the_writes(his):
    bundle = make.consultation_bundle()
    bundle["entry"].insert(0, {"request": {"method": "GET", "url": "Patient?identifier=H-0001"}})
    response = his.call("POST", "/fhir", bundle)
    assert response.status_code == 200, response.content
    search = response.json_body["entry"][0]["resource"]
    assert search["type"] == "searchset" and len(search["entry"]) == 1


def test_a_reference_cycle_is_refused(his):
    bundle = make.consultation_bundle()
    patient = bundle["entry"][1]
    patient["resource"]["link"] = [
        {"other": {"reference": bundle["entry"][2]["fullUrl"]}, "type": "seealso"}
    ]
    assert "cycle" in outcome(his.call("POST", "/fhir", bundle), 400)
    assert Patient.objects.unscoped("test").count() == 0


def test_a_failed_transaction_is_audited_after_the_rollback(his):
    bundle = copy.deepcopy(make.consultation_bundle())
    bundle["entry"][2]["resource"]["subject"] = {"reference": "Patient/nobody"}
    outcome(his.call("POST", "/fhir", bundle), 422)
    event = AuditEvent.objects.filter(object_type="fhir_transaction").get()
    assert event.outcome == "failure" and event.detail["failed"] == ["Bundle.entry[2]"]


def test_the_scopes_command(his):
    out = StringIO()
    call_command("fhir_scopes", his.client_id, "system/Patient.rs", "system/Task.cu", stdout=out)
    assert out.getvalue().strip() == "system/Patient.rs system/Task.cu"
    assert ClientScopes.objects.get().scopes == "system/Patient.rs system/Task.cu"
    with pytest.raises(CommandError):
        call_command("fhir_scopes", his.client_id, "user/Patient.read")
    with pytest.raises(CommandError):
        call_command("fhir_scopes", "no-such-client", "system/*.rs")


def test_a_retried_transaction_doubles_nothing(his):
    from telemed.consultations.models import Consultation

    def bundle():
        sent = make.consultation_bundle()
        task, patient, request = sent["entry"]
        request["resource"]["identifier"] = [{"system": "urn:oid:1.2.156.99.1", "value": "ORD-42"}]
        patient["request"]["ifNoneExist"] = f"identifier={mrn_system('COUNTY_A')}|H-0001"
        request["request"]["ifNoneExist"] = "identifier=urn:oid:1.2.156.99.1|ORD-42"
        task["request"]["ifNoneExist"] = f"focus={request['fullUrl']}"
        return sent

    first = his.call("POST", "/fhir", bundle())
    assert [e["response"]["status"] for e in first.json_body["entry"]] == ["201"] * 3
    again = his.call("POST", "/fhir", bundle())
    assert again.status_code == 200, again.content
    valid(again.json_body)
    assert [e["response"]["status"] for e in again.json_body["entry"]] == ["200"] * 3
    assert Patient.objects.unscoped("test").count() == 1
    assert Consultation.objects.unscoped("test").count() == 1
    found = his.call("GET", "/fhir/ServiceRequest?identifier=urn:oid:1.2.156.99.1|ORD-42")
    assert len(found.json_body["entry"]) == 1
    assert {"system": "urn:oid:1.2.156.99.1", "value": "ORD-42"} in found.json_body["entry"][0][
        "resource"
    ]["identifier"]
    # Without ifNoneExist the same order number is refused, not doubled.
    plain = make.consultation_bundle("H-0002", "李建国")
    plain["entry"][2]["resource"]["identifier"] = [
        {"system": "urn:oid:1.2.156.99.1", "value": "ORD-42"}
    ]
    assert "ORD-42" in outcome(his.call("POST", "/fhir", plain), 409)
    assert Consultation.objects.unscoped("test").count() == 1
