"""Who sees which studies, attaching a study to an imaging case, and the imaging kind's
automatic QC checks."""

from __future__ import annotations

import pytest
from django.utils import translation

from telemed.consultations import services as consultations
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.testing import build_team
from telemed.core.errors import DomainError, InvalidTransition, ValidationFailed
from telemed.imaging import queries
from telemed.imaging.models import ImagingRequest, ImagingStudy
from telemed.imaging.services import Sender, attach_study, ingest
from telemed.imaging.testing import ct_series
from telemed.testing import make_expert, make_user, register


@pytest.fixture
def team(network, alice):
    return build_team(network, alice)


@pytest.fixture
def study(tmp_path, network):
    for path in ct_series(tmp_path, 3, patient_id="A-0001", patient_name="张秀英"):
        ingest(path, Sender(institution=network.county_a, calling_ae_title="COUNTY_A"))
    return ImagingStudy.objects.unscoped("test").get()


def _imaging_case(team, record: str = "A-0001") -> Consultation:
    patient = register(team.requester, "张秀英", record).patient
    case = consultations.create_draft(
        team.requester,
        patient.pk,
        consultations.Request(
            kind="imaging",
            clinical_summary="咳嗽两周。",
            question="肺部是否有占位？",
            wanted_specialty="cardiology",
            consent_confirmed=True,
            fields_set={
                "kind",
                "clinical_summary",
                "question",
                "wanted_specialty",
                "consent_confirmed",
            },
        ),
    )
    ImagingRequest.objects.create(consultation=case, modality="CT", body_part="CHEST")
    return case


def _assign(team, case: Consultation) -> None:
    consultations.submit(team.requester, case.pk)
    checklist = {item.code: True for item in policy_for("imaging").checklist}
    consultations.quality_check(team.qc, case.pk, accept=True, checklist=checklist)
    consultations.triage(team.manager, case.pk, expert_id=team.expert.pk)


def test_the_sending_institution_sees_its_studies_and_others_do_not(study, alice, charlie, network):
    assert list(queries.visible_studies(alice)) == [study]
    assert not queries.visible_studies(charlie).exists()
    city_b_manager = make_user("mgr_b", "consultation_manager", network.city_b)
    assert not queries.visible_studies(city_b_manager).exists()
    city_a_manager = make_user("mgr_a", "consultation_manager", network.city_a)
    assert queries.visible_studies(city_a_manager).exists()
    with pytest.raises(DomainError) as missing:
        queries.get_study(charlie, study.pk)
    assert missing.value.status == 404


def test_an_expert_sees_a_study_once_its_case_is_assigned_to_them(team, study, network):
    case = _imaging_case(team)
    attach_study(team.requester, case, study)
    assert not queries.visible_studies(team.expert).exists()
    _assign(team, case)
    assert list(queries.visible_studies(team.expert)) == [study]
    assert queries.visible_instances(team.expert).count() == 3
    other = make_expert("dr_li", network.province, network.cardiology)
    assert not queries.visible_studies(other).exists()


def test_attaching_links_the_study_and_checks_the_case(team, study, charlie):
    case = _imaging_case(team)
    attach_study(team.requester, case, study)
    study.refresh_from_db()
    assert study.patient_id == case.patient_id
    consultations.submit(team.requester, case.pk)
    with pytest.raises(InvalidTransition):
        attach_study(team.requester, case, study)


def test_a_study_from_another_institution_cannot_be_attached(team, tmp_path, network):
    ingest(ct_series(tmp_path, 1)[0], Sender(institution=network.county_b))
    foreign = ImagingStudy.objects.unscoped("test").get()
    with pytest.raises(ValidationFailed):
        attach_study(team.requester, _imaging_case(team), foreign)


def _checks(case: Consultation) -> dict[str, tuple[bool, str]]:
    with translation.override("en"):
        return {check.code: check.run(case) for check in policy_for("imaging").automatic_checks}


def test_qc_sees_every_check_pass_for_a_matching_study(team, study):
    case = _imaging_case(team)
    attach_study(team.requester, case, study)
    results = _checks(case)
    assert all(passed for passed, _ in results.values()), results
    assert "1 series, 3 images" in results["counts"][1]


def test_qc_sees_what_does_not_match(team, tmp_path, network):
    case = _imaging_case(team)
    for path in ct_series(
        tmp_path, 1, patient_id="A-0001", patient_name="Li^Si", Modality="MR", PatientSex=None
    ):
        ingest(path, Sender(institution=network.county_a))
    attach_study(team.requester, case, ImagingStudy.objects.unscoped("test").get())
    results = _checks(case)
    assert not results["modality_body_part"][0] and "MR" in results["modality_body_part"][1]
    assert not results["required_tags"][0] and "PatientSex" in results["required_tags"][1]
    assert not results["patient_matches"][0] and "Li^Si" in results["patient_matches"][1]
    assert results["pixels_decode"][0] and results["counts"][0]


def test_a_case_without_studies_fails_its_checks(team):
    results = _checks(_imaging_case(team))
    assert not results["studies_attached"][0] and not results["counts"][0]
