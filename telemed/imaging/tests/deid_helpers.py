"""Builders for the de-identification tests: an external partner's expert reading a county
study, and a provincial expert reading the same study on a second case."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom.uid import generate_uid

from telemed.accounts.models import User
from telemed.consultations import services as consultations
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.testing import Team
from telemed.directory.models import ExpertProfile, Institution, Tier
from telemed.imaging.models import ImagingRequest, ImagingStudy
from telemed.imaging.services import Sender, attach_study, ingest
from telemed.imaging.testing import ct_series
from telemed.imaging.tests.test_pages_studies import imaging_case
from telemed.testing import Network, make_expert

PATIENT_NAME = "Zhang^Xiuying"
PATIENT_ID = "A-0001"
FRAME_OF_REFERENCE = generate_uid()
# What identifies the patient, the sender or the study in the stored bytes.
IDENTIFYING = [
    PATIENT_NAME,
    PATIENT_ID,
    "19600517",
    "ACC1",
    "Li^Xian",
    "CT chest",
    "Anyang County Hospital",
    "OLD-ID-77",
    FRAME_OF_REFERENCE,
]


@dataclass
class Shared:
    study: ImagingStudy
    paths: list[Path]
    external_case: Consultation
    external_expert: User
    provincial_case: Consultation
    partner: Institution


def _through_triage(team: Team, case: Consultation, expert: User) -> None:
    consultations.submit(team.requester, case.pk)
    checklist = {item.code: True for item in policy_for("imaging").checklist}
    consultations.quality_check(team.qc, case.pk, accept=True, checklist=checklist)
    consultations.triage(team.manager, case.pk, expert_id=expert.pk)


def _second_case(team: Team, first: Consultation) -> Consultation:
    """Another imaging case of the same patient."""
    case = consultations.create_draft(
        team.requester,
        first.patient_id,
        consultations.Request(
            kind="imaging",
            clinical_summary="复查。",
            question="结节是否变化？",
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


def share(network: Network, team: Team, directory: Path) -> Shared:
    """A county CT study (with identity in the places the profile cleans, a private element
    included) read on one case by an external partner's expert and on another by the
    provincial expert ``team.expert``."""
    partner = Institution.objects.create(
        code="EXT", name="外省合作医院", name_en="Partner Hospital", tier=Tier.EXTERNAL_PARTNER
    )
    external = make_expert("dr_ext", partner, network.cardiology)
    assert external.practitioner is not None
    ExpertProfile.objects.create(practitioner=external.practitioner)
    paths = ct_series(
        directory,
        3,
        patient_id=PATIENT_ID,
        patient_name=PATIENT_NAME,
        InstitutionName="Anyang County Hospital",
        OtherPatientIDs="OLD-ID-77",
        FrameOfReferenceUID=FRAME_OF_REFERENCE,
    )
    from pydicom import dcmread

    for path in paths:
        ds = dcmread(path)
        ds.private_block(0x0009, "TELEMED TEST", create=True).add_new(0x01, "LO", "secret note")
        ds.save_as(path, enforce_file_format=True)
        ingest(path, Sender(institution=network.county_a, calling_ae_title="COUNTY_A"))
    study = ImagingStudy.objects.unscoped("test").get()
    external_case = imaging_case(team)
    attach_study(team.requester, external_case, study)
    _through_triage(team, external_case, external)
    provincial_case = _second_case(team, external_case)
    attach_study(team.requester, provincial_case, study)
    _through_triage(team, provincial_case, team.expert)
    study.refresh_from_db()
    return Shared(study, paths, external_case, external, provincial_case, partner)
