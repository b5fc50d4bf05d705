"""A DiagnosticReport read over /fhir names what it was read from: an imaging report its
ImagingStudy (id and UID, resolvable by the HIS), an ECG report its tracing's Observation;
a report that stands alone names neither."""

from __future__ import annotations

from telemed.consultations.testing import advance, draft
from telemed.ecg import reports as ecg_reports
from telemed.ecg import services as ecg_services
from telemed.ecg.testing import build_world, send
from telemed.fhir.tests.conftest import make_his, valid
from telemed.imaging import report
from telemed.imaging.models import CaseStudy
from telemed.imaging.testing import received_study
from telemed.imaging.tests.test_pages_studies import assign, imaging_case

IMAGING_REPORT = report.ImagingReport(
    technique="胸部 CT 平扫。",
    findings="右肺上叶见 8 mm 结节。",
    impression="右肺上叶小结节。",
    icd10_codes=("R91",),
    recommendations="6 个月后复查。",
)


def _report(his, number: str) -> dict:
    response = his.call("GET", f"/fhir/DiagnosticReport/{number}-v1")
    assert response.status_code == 200, response.content
    valid(response.json_body)
    return response.json_body


def test_an_imaging_report_names_its_study(network, team):
    case = imaging_case(team)
    study = received_study(network.county_a, "A-0001", slices=1)
    CaseStudy.objects.create(consultation=case, study=study, attached_by=team.requester)
    assign(team, case)
    report.sign(team.expert, case.pk, IMAGING_REPORT)
    his = make_his("COUNTY_A")
    body = _report(his, case.number)
    [reference] = body["imagingStudy"]
    assert reference["reference"] == f"ImagingStudy/{study.pk}"
    assert reference["identifier"]["value"] == f"urn:oid:{study.study_instance_uid}"
    followed = his.call("GET", f"/fhir/{reference['reference']}")
    assert followed.status_code == 200
    assert followed.json_body["identifier"][0] == reference["identifier"]
    plain = advance(team, draft(team, patient_name="赵建国", record="A-0009"), "concluded")
    assert "imagingStudy" not in _report(his, plain.number)
    assert "result" not in _report(his, plain.number)


def test_an_ecg_report_names_its_tracing(network, alice):
    world = build_world(network)
    case = send(world)
    ecg_services.claim(world.experts[0], case.pk)
    ecg_reports.sign_report(
        world.experts[0], case.pk, ecg_reports.ReportDraft(phrases=("sinus_rhythm",))
    )
    his = make_his("COUNTY_A")
    body = _report(his, case.number)
    assert body["result"] == [{"reference": f"Observation/{case.number}", "display": "ECG"}]
    observation = his.call("GET", f"/fhir/{body['result'][0]['reference']}")
    assert observation.status_code == 200, observation.content
