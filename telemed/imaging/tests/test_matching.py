"""DICOM attribute matching over the index (shared by C-FIND and QIDO-RS)."""

from __future__ import annotations

import pytest

from telemed.imaging import matching
from telemed.imaging.models import ImagingStudy
from telemed.imaging.services import Sender, ingest
from telemed.imaging.testing import ct_series


@pytest.fixture
def studies(tmp_path, network):
    sender = Sender(institution=network.county_a)
    rows = [
        ("A-0001", "Zhang^Xiuying", "20261101", "101500", "CT", "CHEST"),
        ("A-0002", "Zhao^Lei", "20261115", "143000", "MR", "HEAD"),
        ("A-0003", "Zhang^Wei", "20261130", "080000", "CT", "ABDOMEN"),
    ]
    for index, (pid, name, date, time, modality, part) in enumerate(rows):
        for path in ct_series(
            tmp_path / str(index),
            2,
            patient_id=pid,
            patient_name=name,
            StudyDate=date,
            StudyTime=time,
            Modality=modality,
            BodyPartExamined=part,
        ):
            ingest(path, sender)
    return ImagingStudy.objects.unscoped("test")


def _ids(queryset) -> list[str]:
    return sorted(queryset.values_list("patient_dicom_id", flat=True))


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({}, ["A-0001", "A-0002", "A-0003"]),
        ({"PatientID": ""}, ["A-0001", "A-0002", "A-0003"]),
        ({"PatientID": "A-0002"}, ["A-0002"]),
        ({"PatientID": "A-000?"}, ["A-0001", "A-0002", "A-0003"]),
        ({"PatientName": "zhang*"}, ["A-0001", "A-0003"]),
        ({"PatientName": "ZHAO^LEI"}, ["A-0002"]),
        ({"StudyDate": "20261110-20261130"}, ["A-0002", "A-0003"]),
        ({"StudyDate": "-20261115"}, ["A-0001", "A-0002"]),
        ({"StudyDate": "20261116-"}, ["A-0003"]),
        ({"StudyDate": "20261101"}, ["A-0001"]),
        ({"StudyTime": "1000-1200"}, ["A-0001"]),
        ({"ModalitiesInStudy": "MR"}, ["A-0002"]),
        ({"ModalitiesInStudy": "CT\\MR"}, ["A-0001", "A-0002", "A-0003"]),
        ({"AccessionNumber": "ACC1", "PatientName": "*wei"}, ["A-0003"]),
        ({"NotAnAttribute": "x"}, ["A-0001", "A-0002", "A-0003"]),
    ],
)
def test_study_matching(studies, criteria, expected):
    assert _ids(matching.apply(studies, "STUDY", criteria)) == expected


def test_uid_lists_match_any_of_them(studies):
    uids = list(studies.values_list("study_instance_uid", flat=True)[:2])
    found = matching.apply(studies, "STUDY", {"StudyInstanceUID": "\\".join(uids)})
    assert sorted(found.values_list("study_instance_uid", flat=True)) == sorted(uids)


def test_series_and_instances_match_on_their_own_and_their_parents_keys(studies):
    series = matching.apply(
        matching.level_queryset(studies, "SERIES"), "SERIES", {"BodyPartExamined": "HEAD"}
    )
    assert [s.study.patient_dicom_id for s in series] == ["A-0002"]
    images = matching.apply(
        matching.level_queryset(studies, "IMAGE"),
        "IMAGE",
        {"PatientID": "A-0003", "InstanceNumber": "2"},
    )
    assert [(i.study.patient_dicom_id, i.instance_number) for i in images] == [("A-0003", 2)]


@pytest.mark.parametrize(
    "criteria",
    [{"StudyDate": "2026-11-01"}, {"StudyDate": "-"}, {"StudyTime": "25"}, {"SeriesNumber": "x"}],
)
def test_malformed_values_are_refused(studies, criteria):
    level = "SERIES" if "SeriesNumber" in criteria else "STUDY"
    with pytest.raises(matching.BadMatch):
        matching.apply(matching.level_queryset(studies, level), level, criteria)


def test_answers_carry_the_asked_attributes(studies):
    study = studies.get(patient_dicom_id="A-0002")
    answer = matching.identifier(
        study, "STUDY", ["PatientName", "StudyDate", "ModalitiesInStudy", "IssuerOfPatientID"]
    )
    assert str(answer.PatientName) == "Zhao^Lei" and answer.StudyDate == "20261115"
    assert answer.ModalitiesInStudy == "MR" and answer.IssuerOfPatientID == ""
