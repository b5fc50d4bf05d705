"""The imaging JSON API: received studies in scope, one study, attaching to a case."""

from __future__ import annotations

import json

import pytest

from telemed.consultations import services as consultations
from telemed.imaging.models import CaseStudy
from telemed.imaging.testing import received_study
from telemed.testing import sign_in


@pytest.fixture
def study(network, alice_patient):
    return received_study(network.county_a, "A-0001", slices=2)


def test_it_lists_the_studies_in_scope(client, alice, charlie, study):
    sign_in(client, alice)
    page = client.get("/api/imaging/studies?patient_dicom_id=A-0001").json()
    assert page["total"] == 1 and page["items"][0]["instance_count"] == 2
    assert page["items"][0]["patient_id"] == study.patient_id
    one = client.get(f"/api/imaging/studies/{study.pk}").json()
    assert one["series"][0]["modality"] == "CT"
    client.logout()
    sign_in(client, charlie)
    assert client.get("/api/imaging/studies").json()["total"] == 0
    assert client.get(f"/api/imaging/studies/{study.pk}").status_code == 404


def test_the_requester_attaches_a_study_to_an_imaging_case(client, alice, study, alice_patient):
    case = consultations.create_draft(
        alice,
        alice_patient.pk,
        consultations.Request(kind="imaging", fields_set={"kind"}),
    )
    sign_in(client, alice)
    url = f"/api/imaging/consultations/{case.pk}/studies"
    response = client.post(url, json.dumps({"study_id": study.pk}), content_type="application/json")
    assert response.status_code == 201, response.content
    assert CaseStudy.objects.filter(consultation=case, study=study).exists()
    missing = client.post(url, json.dumps({"study_id": 999999}), content_type="application/json")
    assert missing.status_code == 404


def test_a_study_cannot_go_to_a_multidisciplinary_case(client, alice, study, alice_patient):
    case = consultations.create_draft(alice, alice_patient.pk, consultations.Request())
    sign_in(client, alice)
    response = client.post(
        f"/api/imaging/consultations/{case.pk}/studies",
        json.dumps({"study_id": study.pk}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["message"]


def test_the_requester_says_what_is_to_be_read(client, alice, charlie, alice_patient):
    from telemed.imaging.models import ImagingRequest

    case = consultations.create_draft(
        alice, alice_patient.pk, consultations.Request(kind="imaging", fields_set={"kind"})
    )
    url = f"/api/imaging/consultations/{case.pk}/request"
    sign_in(client, alice)
    body = json.dumps({"modality": "ct", "body_part": "chest"})
    response = client.put(url, body, content_type="application/json")
    assert response.json() == {"modality": "CT", "body_part": "CHEST"}
    assert ImagingRequest.objects.get(consultation=case).modality == "CT"
    bad = client.put(url, json.dumps({"modality": "C/T"}), content_type="application/json")
    assert bad.status_code == 422
    client.logout()
    sign_in(client, charlie)
    assert client.put(url, body, content_type="application/json").status_code == 404
