"""Imaging and ECG results out through the hub: an imaging report reaches the rest-hook
as a collection Bundle (DiagnosticReport + the ImagingStudy it was read from, with the
study's UID), an ECG report names its tracing, and a report that stands alone stays a bare
DiagnosticReport. Every body is validated with fhir.resources."""

from __future__ import annotations

import json

import pytest

from telemed.consultations.testing import advance, build_team, draft
from telemed.exchange import outbound, services
from telemed.exchange.models import Transport
from telemed.exchange.testing import rest_hook_receiver
from telemed.fhir.tests.conftest import valid
from telemed.imaging import report
from telemed.imaging.models import CaseStudy
from telemed.imaging.testing import received_study
from telemed.imaging.tests.test_pages_studies import assign, imaging_case

IMAGING_REPORT = report.ImagingReport(
    technique="胸部 CT 平扫，层厚 1 mm。",
    findings="右肺上叶见 12 mm 结节。",
    impression="右肺上叶结节。",
    icd10_codes=("R91",),
    recommendations="建议增强 CT。",
)


@pytest.fixture
def hook(his):
    receiver = rest_hook_receiver()
    services.subscribe(his, Transport.REST_HOOK, f"http://127.0.0.1:{receiver.port}/hook")
    yield receiver
    receiver.stop()


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


def _received(hook) -> list[dict]:
    assert outbound.deliver_due()["failed"] == 0
    return [json.loads(body) for body in hook.received.unique.values()]


def test_an_imaging_report_goes_out_with_its_imaging_study(hook, team, network):
    case = imaging_case(team)
    study = received_study(network.county_a, "A-0001", slices=2)
    CaseStudy.objects.create(consultation=case, study=study, attached_by=team.requester)
    assign(team, case)
    report.sign(team.expert, case.pk, IMAGING_REPORT)

    [body] = _received(hook)
    bundle = valid(body)
    assert bundle.type == "collection"
    resources = [entry["resource"] for entry in body["entry"]]
    assert [r["resourceType"] for r in resources] == ["DiagnosticReport", "ImagingStudy"]
    diagnostic, imaging = resources
    key = next(iter(hook.received.unique))
    assert body["identifier"]["value"] == f"urn:uuid:{key}"
    assert diagnostic["basedOn"][0]["identifier"]["value"] == case.number
    assert diagnostic["conclusion"] == IMAGING_REPORT.impression
    # The study's UID, in the report's reference and in the ImagingStudy itself.
    uid = f"urn:oid:{study.study_instance_uid}"
    assert imaging["identifier"][0] == {"system": "urn:dicom:uid", "value": uid}
    [reference] = diagnostic["imagingStudy"]
    assert reference["identifier"]["value"] == uid
    # The reference resolves inside the Bundle, and the study keeps its hub id.
    assert reference["reference"] == body["entry"][1]["fullUrl"]
    assert imaging["id"] == str(study.pk)
    assert imaging["numberOfInstances"] == 2 and imaging["series"][0]["modality"]["code"] == "CT"
    assert imaging["basedOn"] == [{"reference": f"ServiceRequest/{case.number}"}]
    assert imaging["subject"]["reference"] == diagnostic["subject"]["reference"]


def test_an_imaging_case_without_a_study_and_a_plain_case_send_the_bare_report(hook, team):
    plain = advance(team, draft(team, patient_name="赵建国", record="A-0009"), "concluded")
    bare_imaging = imaging_case(team, "A-0002")
    assign(team, bare_imaging)
    report.sign(team.expert, bare_imaging.pk, IMAGING_REPORT)

    bodies = _received(hook)
    assert len(bodies) == 2
    for body in bodies:
        valid(body)
        assert body["resourceType"] == "DiagnosticReport"
        assert "imagingStudy" not in body and "result" not in body
    numbers = {body["basedOn"][0]["identifier"]["value"] for body in bodies}
    assert numbers == {plain.number, bare_imaging.number}


def test_an_ecg_report_names_its_tracing(hook, network, alice):
    from telemed.ecg import reports
    from telemed.ecg import services as ecg_services
    from telemed.ecg.testing import build_world, send

    world = build_world(network)
    case = send(world)
    ecg_services.claim(world.experts[0], case.pk)
    reports.sign_report(world.experts[0], case.pk, reports.ReportDraft(phrases=("normal_ecg",)))

    [body] = _received(hook)
    valid(body)
    assert body["resourceType"] == "DiagnosticReport"
    assert body["result"] == [{"reference": f"Observation/{case.number}", "display": "ECG"}]
