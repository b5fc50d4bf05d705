"""ImagingStudy from the imaging index: read and search in scope, validated."""

from __future__ import annotations

import datetime as dt

from telemed.consultations.testing import draft
from telemed.fhir.tests.conftest import make_his, outcome, valid
from telemed.imaging.models import CaseStudy, ImagingSeries, ImagingStudy

UID = "1.2.826.0.1.3680043.8.498.10001"


def indexed_study(institution, patient=None) -> ImagingStudy:
    study = ImagingStudy.objects.create(
        institution=institution,
        patient=patient,
        study_instance_uid=UID,
        patient_dicom_id="A-0001",
        patient_name="ZHANG^XIUYING",
        study_date=dt.date(2026, 11, 30),
        accession_number="ACC001",
        study_description="胸部CT平扫",
        modalities="CT",
        series_count=1,
        instance_count=2,
    )
    ImagingSeries.objects.create(
        study=study,
        series_instance_uid=f"{UID}.1",
        modality="CT",
        series_number=1,
        instance_count=2,
    )
    return study


def test_imaging_studies_are_read_and_searched_in_scope(network, team):
    case = draft(team)
    study = indexed_study(network.county_a, case.patient)
    CaseStudy.objects.create(consultation=case, study=study, attached_by=team.requester)
    his = make_his("COUNTY_A")
    response = his.call("GET", f"/fhir/ImagingStudy/{study.pk}")
    assert response.status_code == 200, response.content
    body = response.json_body
    valid(body)
    assert body["identifier"][0]["value"] == f"urn:oid:{UID}"
    assert body["subject"]["reference"] == f"Patient/{case.patient.mpi_id}"
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{case.number}"}]
    assert body["series"][0]["modality"]["code"] == "CT"
    for query in (
        f"identifier=urn:dicom:uid|urn:oid:{UID}",
        "modality=CT",
        f"patient=Patient/{case.patient.mpi_id}",
        "started=2026-11",
        f"basedon=ServiceRequest/{case.number}",
    ):
        bundle = his.call("GET", f"/fhir/ImagingStudy?{query}").json_body
        valid(bundle)
        assert [e["resource"]["id"] for e in bundle["entry"]] == [str(study.pk)], query
    with_patient = his.call("GET", "/fhir/ImagingStudy?modality=CT&_include=ImagingStudy:patient")
    assert {e["resource"]["resourceType"] for e in with_patient.json_body["entry"]} == {
        "ImagingStudy",
        "Patient",
    }
    other = make_his("COUNTY_B")
    outcome(other.call("GET", f"/fhir/ImagingStudy/{study.pk}"), 404)
    assert other.call("GET", "/fhir/ImagingStudy").json_body.get("entry", []) == []


def test_a_study_without_an_mpi_patient_names_the_sender_patient(network):
    study = indexed_study(network.county_a)
    body = make_his("COUNTY_A").call("GET", f"/fhir/ImagingStudy/{study.pk}").json_body
    valid(body)
    assert body["subject"]["display"] == "ZHANG^XIUYING"
