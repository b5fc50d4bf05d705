"""Observation create: a hospital system sends an ECG as a FHIR Observation with SampledData
(fhirclient over HTTP against the live server, and in a transaction Bundle); it becomes an
ECG case in the institution's pool, measured. Bad ones answer an OperationOutcome naming
the problem and write nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhirclient.models.capabilitystatement import CapabilityStatement as ClientCapability
from fhirclient.models.observation import Observation as ClientObservation
from requests import HTTPError

from telemed.consultations.models import Consultation
from telemed.ecg import analysis_view
from telemed.ecg.models import EcgRecording
from telemed.ecg.testing import build_world
from telemed.ecg.tests.signal_fixtures import fhir_json, synthetic
from telemed.fhir.tests import resources_fixtures as make
from telemed.fhir.tests.conftest import make_his, outcome, valid
from telemed.fhir.tests.test_his_story import connect
from telemed.patients.models import Patient
from telemed.storage.models import Blob
from telemed.testing import register
from telemed.web.tests.catalog import ensure_compiled


@pytest.fixture
def world(network):
    return build_world(network)


def observation(patient: Patient, **signal: Any) -> dict[str, Any]:
    """A 12-lead synthetic ECG as the Observation a cart's gateway would send."""
    record, _truth = synthetic(**signal)
    data = json.loads(fhir_json(record))
    data["subject"] = {"reference": f"Patient/{patient.mpi_id}"}
    return dict(data)


def ecg_cases():
    return Consultation.objects.unscoped("test").filter(kind="ecg")


@pytest.mark.django_db(transaction=True)
def test_a_hospital_sends_an_ecg_observation_with_fhirclient(live_server, world):
    smart = connect(live_server.url, "COUNTY_A", "system/*.cruds")
    smart.server.session.headers["Accept-Language"] = "en"
    capability = ClientCapability(smart.server.request_json("metadata"))
    [served] = [r for r in capability.rest[0].resource if r.type == "Observation"]
    assert "create" in [i.code for i in served.interaction]

    sent = ClientObservation(observation(world.patient, heart_rate=75))
    created = sent.create(smart.server)
    valid(created)
    case = ecg_cases().get()
    assert created["id"] == case.number
    assert created["subject"]["reference"] == f"Patient/{world.patient.mpi_id}"
    assert case.state == "accepted" and case.patient_id == world.patient.pk
    assert case.events.get(action="submit").detail["channel"] == "fhir"
    recording = EcgRecording.objects.unscoped("test").get(consultation=case)
    assert recording.pool == world.pool and recording.source_format == "fhir"
    rate = analysis_view.measurements(recording.analysis)["heart_rate_bpm"]
    assert rate is not None and abs(rate - 75) < 3
    back = ClientObservation.read(case.number, smart.server)
    assert len(back.component) == 12

    # A refusal through the same client: the OperationOutcome names the lead.
    bad = observation(world.patient)
    bad["component"][1]["valueSampledData"]["data"] = "E " * 5000
    with pytest.raises(HTTPError) as refused:
        ClientObservation(bad).create(smart.server)
    answer = refused.value.response
    assert answer is not None and answer.status_code == 422
    assert "Lead II" in answer.text
    assert ecg_cases().count() == 1


def _unequal_rates(data: dict[str, Any]) -> dict[str, Any]:
    data["component"][0]["valueSampledData"]["period"] = 4
    return data


def _no_unit(data: dict[str, Any]) -> dict[str, Any]:
    for component in data["component"]:
        component["valueSampledData"]["origin"] = {"value": 0}
    return data


def _blood_pressure(data: dict[str, Any]) -> dict[str, Any]:
    data["code"] = {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}
    return data


def _no_samples(data: dict[str, Any]) -> dict[str, Any]:
    for component in data["component"]:
        del component["valueSampledData"]
        component["valueQuantity"] = {"value": 1}
    return data


def _one_second(data: dict[str, Any]) -> dict[str, Any]:
    for component in data["component"]:
        sampled = component["valueSampledData"]
        sampled["data"] = " ".join(sampled["data"].split()[:500])
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spoil", "status", "said", "where"),
    [
        (_unequal_rates, 422, "different sampling rates", "Observation.component"),
        (_no_unit, 422, "states no unit", "Observation.component"),
        (_blood_pressure, 422, "Only ECG Observations", "Observation.code"),
        (_no_samples, 422, "no sampled ECG data", "Observation.component"),
        (_one_second, 422, "lasts 1.00 s", "Observation.component"),
    ],
)
def test_a_bad_ecg_observation_is_refused_naming_the_problem(world, spoil, status, said, where):
    his = make_his("COUNTY_A")
    blobs = Blob.objects.count()
    response = his.call("POST", "/fhir/Observation", spoil(observation(world.patient)))
    assert said in outcome(response, status)
    assert response.json_body["issue"][0]["expression"] == [where]
    assert not ecg_cases().exists() and Blob.objects.count() == blobs


@pytest.mark.django_db
def test_the_subject_must_be_a_patient_in_scope_with_consent_on_record(world, network):
    his = make_his("COUNTY_A")
    elsewhere = register(
        make_his("COUNTY_B").user, "孙建国", "B-0009", sex="male"
    ).patient  # COUNTY_B's patient
    said = outcome(his.call("POST", "/fhir/Observation", observation(elsewhere)), 422)
    assert "Observation.subject" in said and "not known" in said

    unconsented = make.patient("H-0077", "李春梅", resident=False)
    created = his.call("POST", "/fhir/Patient", unconsented)
    assert created.status_code == 201, created.content
    patient = Patient.objects.unscoped("test").get(mpi_id=created.json_body["id"])
    said = outcome(his.call("POST", "/fhir/Observation", observation(patient)), 422)
    assert "No consent to telemedicine" in said
    ensure_compiled()
    chinese = his.call("POST", "/fhir/Observation", observation(patient), language="zh-hans")
    assert "没有远程医疗知情同意的记录" in outcome(chinese, 422)
    assert not ecg_cases().exists()


@pytest.mark.django_db
def test_a_client_without_write_scope_cannot_send(world):
    his = make_his("COUNTY_A", scopes="system/Observation.read")
    outcome(his.call("POST", "/fhir/Observation", observation(world.patient)), 403)
    assert not ecg_cases().exists()


@pytest.mark.django_db
def test_an_ecg_observation_in_a_transaction_bundle(world):
    his = make_his("COUNTY_A")
    entry = {
        "fullUrl": "urn:uuid:7d1c3a4e-0000-4000-8000-000000000001",
        "resource": observation(world.patient),
        "request": {"method": "POST", "url": "Observation"},
    }
    answer = his.call(
        "POST", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    )
    assert answer.status_code == 200, answer.content[:500]
    [created] = answer.json_body["entry"]
    assert created["response"]["status"].startswith("201")
    assert ecg_cases().count() == 1

    # A new patient and an ECG for them in one transaction: no consent is on record, so the
    # whole transaction is refused and the patient is not registered either.
    patient_entry = {
        "fullUrl": "urn:uuid:7d1c3a4e-0000-4000-8000-000000000002",
        "resource": make.patient("H-0078", "周丽华", resident=False),
        "request": {"method": "POST", "url": "Patient"},
    }
    ecg = observation(world.patient)
    ecg["subject"] = {"reference": patient_entry["fullUrl"]}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            patient_entry,
            {"resource": ecg, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    assert "No consent to telemedicine" in outcome(his.call("POST", "/fhir", bundle), 422)
    assert ecg_cases().count() == 1
    assert not Patient.objects.unscoped("test").filter(name="周丽华").exists()
