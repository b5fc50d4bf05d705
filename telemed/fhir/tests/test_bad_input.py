"""Bad input: a clear OperationOutcome with the right status, and nothing written."""

from __future__ import annotations

import copy
import json

from django.test import Client, override_settings

from telemed.audit.models import AuditEvent
from telemed.consultations.models import Consultation
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import make_his, outcome, valid
from telemed.patients.models import Patient


def counts() -> tuple[int, int]:
    return Patient.objects.unscoped("test").count(), Consultation.objects.unscoped("test").count()


def test_invalid_json_is_400(his):
    assert "not valid JSON" in outcome(
        his.call("POST", "/fhir/Patient", '{"resourceType": "Pat'), 400
    )
    outcome(his.call("POST", "/fhir/Patient", "[1, 2]"), 400)
    assert counts() == (0, 0)


def test_a_resource_failing_validation_is_422(his):
    bad = make.patient()
    bad["birthDate"] = "the ninth of March"
    diagnostics = outcome(his.call("POST", "/fhir/Patient", bad), 422)
    assert "not valid FHIR" in diagnostics
    body = his.call("POST", "/fhir/Patient", bad).json_body
    assert any("birthDate" in e for issue in body["issue"] for e in issue.get("expression", []))
    unknown_field = {**make.patient(), "favouriteColour": "blue"}
    outcome(his.call("POST", "/fhir/Patient", unknown_field), 422)
    outcome(his.call("POST", "/fhir/Patient", {**make.patient(), "resourceType": "Task"}), 400)
    no_record = make.patient()
    no_record["identifier"] = []
    assert "record number" in outcome(his.call("POST", "/fhir/Patient", no_record), 422)
    assert counts() == (0, 0)


def test_unknown_types_paths_and_methods(his):
    outcome(his.call("GET", "/fhir/Spaceship"), 404)
    outcome(his.call("GET", "/fhir/MedicationRequest"), 404)  # a FHIR type not served here
    outcome(his.call("GET", "/fhir/Patient/has_underscores"), 404)
    response = his.call("DELETE", "/fhir/Patient/00000000-0000-0000-0000-000000000000")
    outcome(response, 405)
    assert "GET" in response["Allow"]
    outcome(his.call("POST", "/fhir/Organization", {"resourceType": "Organization"}), 405)
    outcome(his.call("POST", "/fhir/Patient", make.patient(), content_type="text/plain"), 415)


def test_authentication_and_smart_scopes(network, his):
    response = Client().get("/fhir/Patient")
    outcome(response_with_body(response), 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    outcome(his.call("GET", "/fhir/Patient", token="not-a-token"), 401)
    reader = make_his("COUNTY_A", "system/Patient.rs")
    assert reader.call("GET", "/fhir/Patient").status_code == 200
    assert "system/Patient.c" in outcome(reader.call("POST", "/fhir/Patient", make.patient()), 403)
    assert "system/Task.s" in outcome(reader.call("GET", "/fhir/Task"), 403)
    refusal = AuditEvent.objects.filter(outcome="denied", object_type="patient").latest("seq")
    assert refusal.action == "create" and "SMART scope" in refusal.detail["reason"]
    nothing = make_his("COUNTY_A", "")
    outcome(nothing.call("GET", "/fhir/Patient"), 403)
    # The transaction checks each entry's scope: nothing is written.
    outcome(reader.call("POST", "/fhir", make.consultation_bundle()), 403)
    assert counts() == (0, 0)


def response_with_body(response):
    import json

    response.json_body = json.loads(response.content)
    return response


def test_a_reference_to_another_institutions_patient_is_refused(his, other_his):
    theirs = other_his.call(
        "POST", "/fhir/Patient", make.patient("B-0001", code="COUNTY_B")
    ).json_body
    request = make.service_request(f"Patient/{theirs['id']}")
    diagnostics = outcome(his.call("POST", "/fhir/ServiceRequest", request), 422)
    assert "ServiceRequest.subject" in diagnostics
    assert Consultation.objects.unscoped("test").count() == 0
    # Nor can a record number be registered at another institution.
    outcome(his.call("POST", "/fhir/Patient", make.patient("B-0002", "赵丽", code="COUNTY_B")), 422)


def test_a_transaction_whose_second_entry_fails_writes_nothing(his):
    bundle = make.consultation_bundle()
    bundle["entry"] = bundle["entry"][1:]  # Patient, then ServiceRequest
    bundle["entry"][1]["resource"]["performerType"]["coding"][0]["code"] = "no-such-department"
    response = his.call("POST", "/fhir", bundle)
    diagnostics = outcome(response, 422)
    assert "Bundle.entry[1]" in response.json_body["issue"][0]["expression"]
    assert "wanted_specialty" in diagnostics
    assert counts() == (0, 0)

    broken = make.consultation_bundle()
    broken["entry"][0]["resource"]["status"] = "in-progress"  # the platform's step, not the HIS's
    response = his.call("POST", "/fhir", broken)
    outcome(response, 422)
    assert response.json_body["issue"][0]["expression"][0] == "Bundle.entry[0]"
    assert counts() == (0, 0)


def test_a_batch_answers_each_entry(his):
    bundle = make.consultation_bundle()
    bundle["type"] = "batch"
    good = bundle["entry"][1]
    bad = copy.deepcopy(good)
    bad["resource"]["gender"] = 12
    bundle["entry"] = [good, bad, {"request": {"method": "GET", "url": "Patient?gender=female"}}]
    response = his.call("POST", "/fhir", bundle)
    assert response.status_code == 200
    valid(response.json_body)
    statuses = [e["response"]["status"] for e in response.json_body["entry"]]
    assert statuses == ["201", "422", "200"]
    assert counts() == (1, 0)


@override_settings(MAX_REQUEST_BYTES=4096)
def test_an_oversized_body_is_413_and_not_read(his):
    big = make.patient()
    big["address"] = [{"text": "长" * 5000}]
    response = his.call("POST", "/fhir/Patient", big)
    # Refused at the border, before the FHIR views, and still an OperationOutcome.
    assert "4096" in outcome(response, 413)
    assert counts() == (0, 0)


def test_a_nul_character_is_400_as_an_operation_outcome(his):
    named = make.patient()
    named["name"] = [{"text": "张\u0000三"}]
    response = his.call("POST", "/fhir/Patient", json.dumps(named).replace("\\\\u0000", "\\u0000"))
    assert response["Content-Type"].startswith("application/fhir+json")
    assert "NUL" in outcome(response, 400)
    assert counts() == (0, 0)


def test_a_bundle_that_is_not_a_transaction(his):
    outcome(his.call("POST", "/fhir", {"resourceType": "Bundle", "type": "collection"}), 400)
    outcome(
        his.call("POST", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [{}]}),
        400,
    )
