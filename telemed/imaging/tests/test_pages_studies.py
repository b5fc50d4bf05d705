"""The imaging pages: received studies, one study, attaching a study to a case, the panel on
the consultation pages (QC review included), the viewer page and the browser upload."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from telemed.audit.models import AuditEvent
from telemed.consultations import services as consultations
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.testing import Team, build_team, draft
from telemed.imaging.models import CaseStudy, ImagingRequest, ImagingStudy
from telemed.imaging.testing import ct_series, received_study
from telemed.imaging.tests.dicomweb_helpers import STOW_TYPE, multipart
from telemed.testing import make_expert, register, sign_in


def client_for(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def imaging_case(team: Team, record: str = "A-0001", *, requested: bool = True) -> Consultation:
    """A draft imaging case of the requester's patient, asking (if ``requested``) for a CT
    of the chest."""
    patient = register(team.requester, "张秀英", record).patient
    fields = {"kind", "clinical_summary", "question", "wanted_specialty", "consent_confirmed"}
    case = consultations.create_draft(
        team.requester,
        patient.pk,
        consultations.Request(
            kind="imaging",
            clinical_summary="咳嗽两周。",
            question="肺部是否有占位？",
            wanted_specialty="cardiology",
            consent_confirmed=True,
            fields_set=fields,
        ),
    )
    if requested:
        ImagingRequest.objects.create(consultation=case, modality="CT", body_part="CHEST")
    return case


def assign(team: Team, case: Consultation) -> None:
    consultations.submit(team.requester, case.pk)
    checklist = {item.code: True for item in policy_for("imaging").checklist}
    consultations.quality_check(team.qc, case.pk, accept=True, checklist=checklist)
    consultations.triage(team.manager, case.pk, expert_id=team.expert.pk)


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


@pytest.fixture
def study(network) -> ImagingStudy:
    return received_study(network.county_a, "A-0001", slices=3)


def test_the_list_shows_the_institutions_studies_only(study, alice, charlie, network):
    received_study(network.county_b, "B-0001")
    page = client_for(alice).get("/imaging/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="study-row"') == 1
    assert f'data-study-id="{study.pk}"' in html
    assert 'data-testid="unlinked"' in html
    assert "CT chest" in html
    assert AuditEvent.objects.filter(actor=alice, object_type="imaging_study").exists()
    other = client_for(charlie).get("/imaging/").content.decode()
    assert f'data-study-id="{study.pk}"' not in other


def test_the_list_is_searched_by_patient_id_and_name(study, alice, network):
    received_study(network.county_a, "A-0002")
    client = client_for(alice)
    by_id = client.get("/imaging/", {"q": "A-0002"}).content.decode()
    assert by_id.count('data-testid="study-row"') == 1
    assert f'data-study-id="{study.pk}"' not in by_id
    by_name = client.get("/imaging/", {"q": "zhang"}).content.decode()
    assert by_name.count('data-testid="study-row"') == 2
    assert client.get("/imaging/", {"q": "x\x00"}).status_code == 400
    assert client.get("/imaging/", {"q": "A" * 500}).status_code == 200


def test_a_study_page_shows_series_with_thumbnails_that_render(study, alice, charlie):
    client = client_for(alice)
    page = client.get(f"/imaging/studies/{study.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    thumbnail = re.search(r'<img src="([^"]+/rendered)"', html)
    assert thumbnail is not None
    image = client.get(thumbnail.group(1), HTTP_ACCEPT="image/png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert client_for(charlie).get(f"/imaging/studies/{study.pk}/").status_code == 404
    assert client_for(charlie).get(thumbnail.group(1), HTTP_ACCEPT="image/png").status_code == 404


def test_the_requester_attaches_a_study_on_the_case_page(team, study):
    case = imaging_case(team)
    client = client_for(team.requester)
    page = client.get(f"/imaging/cases/{case.pk}/")
    assert f'data-testid="candidate-{study.pk}"' in page.content.decode()
    answer = client.post(f"/imaging/cases/{case.pk}/", {"study": study.pk})
    assert answer.status_code == 302
    assert CaseStudy.objects.filter(consultation=case, study=study).exists()
    study.refresh_from_db()
    assert study.patient_id == case.patient_id
    panel = client.get(f"/imaging/cases/{case.pk}/panel/").content.decode()
    assert study.study_instance_uid in panel and "imaging-viewer-link" in panel


def test_attaching_what_is_not_yours_or_too_late_changes_nothing(team, study, network, charlie):
    case = imaging_case(team)
    client = client_for(team.requester)
    foreign = received_study(network.county_b, "B-0001")
    refused = client.post(f"/imaging/cases/{case.pk}/", {"study": foreign.pk})
    assert refused.status_code == 404
    assert 'data-testid="error-study"' in refused.content.decode()
    assert client.post(f"/imaging/cases/{case.pk}/", {"study": "x"}).status_code == 422
    assert (
        client_for(charlie).post(f"/imaging/cases/{case.pk}/", {"study": study.pk}).status_code
        == 404
    )
    assert not CaseStudy.objects.exists()
    consultations.submit(team.requester, case.pk)
    late = client.post(f"/imaging/cases/{case.pk}/", {"study": study.pk})
    assert late.status_code == 409
    assert 'data-testid="error"' in late.content.decode()
    assert 'data-testid="attach-form"' not in late.content.decode()
    assert not CaseStudy.objects.exists()


def test_the_requester_says_what_is_to_be_read(team, charlie):
    case = imaging_case(team, requested=False)
    client = client_for(team.requester)
    url = f"/imaging/cases/{case.pk}/"
    bad = client.post(url, {"intent": "request", "modality": "C/T", "body_part": "chest"})
    assert bad.status_code == 422 and 'data-testid="error"' in bad.content.decode()
    assert not ImagingRequest.objects.exists()
    outsider = client_for(charlie).post(url, {"intent": "request", "modality": "CT"})
    assert outsider.status_code == 404 and not ImagingRequest.objects.exists()
    answer = client.post(url, {"intent": "request", "modality": "ct", "body_part": "chest"})
    assert answer.status_code == 302
    wanted = ImagingRequest.objects.get(consultation=case)
    assert (wanted.modality, wanted.body_part) == ("CT", "CHEST")
    consultations.submit(team.requester, case.pk)
    late = client.post(url, {"intent": "request", "modality": "MR"})
    assert late.status_code == 409
    assert ImagingRequest.objects.get(consultation=case).modality == "CT"
    assert 'data-testid="requested"' in client.get(url).content.decode()


def test_imaging_pages_refuse_a_case_of_another_kind(team):
    other = draft(team)
    client = client_for(team.requester)
    for url in ("", "panel/", "viewer/", "report.pdf"):
        assert client.get(f"/imaging/cases/{other.pk}/{url}").status_code == 404


def test_qc_review_shows_the_checks_and_the_study_beside_them(team, study):
    case = imaging_case(team)
    client_for(team.requester).post(f"/imaging/cases/{case.pk}/", {"study": study.pk})
    consultations.submit(team.requester, case.pk)
    client = client_for(team.qc)
    review = client.get(f"/consultations/{case.pk}/review/", HTTP_ACCEPT_LANGUAGE="en")
    html = review.content.decode()
    assert 'data-testid="automatic-checks"' in html
    assert "Pixel data decodes" in html and "1 series, 3 images" in html
    assert f"/imaging/cases/{case.pk}/panel/" in html
    panel = client.get(f"/imaging/cases/{case.pk}/panel/").content.decode()
    assert 'data-testid="study-summary"' in panel and "1 / 3" in panel
    assert AuditEvent.objects.filter(
        actor=team.qc, object_type="imaging_study", object_id=str(study.pk), action="read"
    ).exists()


def test_the_assigned_expert_opens_the_viewer_and_reads_through_dicomweb(team, study, network):
    case = imaging_case(team)
    client_for(team.requester).post(f"/imaging/cases/{case.pk}/", {"study": study.pk})
    outsider = make_expert("dr_li", network.province, network.cardiology)
    assert client_for(team.expert).get(f"/imaging/cases/{case.pk}/viewer/").status_code == 404
    assign(team, case)
    client = client_for(team.expert)
    page = client.get(f"/imaging/cases/{case.pk}/viewer/")
    assert page.status_code == 200
    html = page.content.decode()
    metadata = re.search(r'"metadata": "([^"]+)"', html)
    assert metadata is not None and 'data-testid="preset-lung"' in html
    answer = client.get(metadata.group(1), HTTP_ACCEPT="application/dicom+json")
    assert answer.status_code == 200 and len(answer.json()) == 3
    assert client_for(outsider).get(f"/imaging/cases/{case.pk}/viewer/").status_code == 404
    assert client_for(outsider).get(metadata.group(1)).status_code == 404


def test_the_upload_page_posts_to_stow_with_its_csrf_token(alice, tmp_path):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, alice)
    page = client.get("/imaging/upload/").content.decode()
    match = re.search(r'data-stow-url="([^"]+)" data-csrf="([^"]+)"', page)
    assert match is not None
    body = multipart(*(path.read_bytes() for path in ct_series(tmp_path, 2)))
    refused = client.post(match.group(1), body, content_type=STOW_TYPE)
    assert refused.status_code == 403 and not ImagingStudy.objects.unscoped("test").exists()
    stored = client.post(
        match.group(1), body, content_type=STOW_TYPE, HTTP_X_CSRFTOKEN=match.group(2)
    )
    assert stored.status_code == 200, stored.content
    assert len(stored.json()["00081199"]["Value"]) == 2


def test_pages_are_translated(study, alice):
    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    html = client_for(alice).get("/imaging/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已接收的检查" in html
