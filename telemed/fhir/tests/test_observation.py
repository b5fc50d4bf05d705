"""Observation: an ECG tracing as SampledData, read in scope and read back by the ECG
app's own FHIR reader with the same samples."""

from __future__ import annotations

import json

import numpy as np

from telemed.ecg import samples as sample_store
from telemed.ecg.signal.readers.fhir_format import read_fhir
from telemed.ecg.testing import build_world, send
from telemed.fhir.tests.conftest import make_his, outcome, valid


def test_an_ecg_is_served_as_sampled_data(network):
    world = build_world(network)
    case = send(world)
    recording = case.ecg_recording
    his = make_his("COUNTY_A")
    response = his.call("GET", f"/fhir/Observation/{case.number}")
    assert response.status_code == 200, response.content[:300]
    body = response.json_body
    valid(body)
    assert body["code"]["coding"][0]["code"] == "11524-6"
    assert len(body["component"]) == len(recording.leads)
    back = read_fhir(json.dumps(body).encode())
    assert back.sampling_rate == recording.sampling_rate
    assert list(back.leads) == list(recording.leads)
    stored = sample_store.read_all(recording.samples_id, len(recording.leads), recording.n_samples)
    assert np.allclose(back.samples, stored, atol=1)
    found = his.call(
        "GET",
        f"/fhir/Observation?patient=Patient/{case.patient.mpi_id}&code=http://loinc.org|11524-6",
    )
    assert [e["resource"]["id"] for e in found.json_body["entry"]] == [case.number]
    outcome(make_his("COUNTY_B").call("GET", f"/fhir/Observation/{case.number}"), 404)
