"""The ingest service: valid objects are stored as received and indexed once; bad input is
refused with a DIMSE status and leaves nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from telemed.audit.models import AuditEvent, Outcome
from telemed.dicom.registry import Refused
from telemed.imaging.models import ImagingInstance, ImagingSeries, ImagingStudy
from telemed.imaging.services import Sender, ingest
from telemed.imaging.testing import ct_dataset, ct_series, write
from telemed.storage.blobstore import get_blob_store
from telemed.storage.models import Blob


def _all(model):
    return model.objects.unscoped("test")


@pytest.fixture
def sender(network):
    return Sender(institution=network.county_a, calling_ae_title="COUNTY_A", address="127.0.0.1")


def test_it_stores_as_received_and_indexes(tmp_path, sender):
    paths = ct_series(tmp_path, 3)
    for path in paths:
        assert ingest(path, sender).created
    study = _all(ImagingStudy).get()
    assert (study.series_count, study.instance_count, study.modalities) == (1, 3, "CT")
    assert study.patient_dicom_id == "A-0001" and study.patient_name == "Zhang^Xiuying"
    assert str(study.study_date) == "2026-11-30"
    instance = _all(ImagingInstance).get(instance_number=2)
    with get_blob_store().open(instance.blob.sha256) as stream:
        assert stream.read() == paths[1].read_bytes()
    assert _all(ImagingSeries).get().instance_count == 3
    # One audit event for the study, not one per instance.
    assert AuditEvent.objects.filter(object_type="imaging_study").count() == 1


def test_it_links_the_mpi_patient_of_the_sending_institution(tmp_path, network, alice_patient):
    own = Sender(institution=network.county_a)
    other = Sender(institution=network.county_b)
    ingest(ct_series(tmp_path / "a", 1, patient_id="A-0001")[0], own)
    ingest(ct_series(tmp_path / "b", 1, patient_id="A-0001")[0], other)
    assert _all(ImagingStudy).get(institution=network.county_a).patient == alice_patient
    assert _all(ImagingStudy).get(institution=network.county_b).patient is None


def test_resending_the_same_bytes_is_a_no_op(tmp_path, sender):
    path = ct_series(tmp_path, 1)[0]
    first = ingest(path, sender)
    again = ingest(path, sender)
    assert not again.created and again.instance.pk == first.instance.pk
    assert _all(ImagingStudy).get().instance_count == 1


def test_resending_different_bytes_is_refused_and_the_first_stays(tmp_path, sender):
    study, series, sop = generate_uid(), generate_uid(), generate_uid()
    first = write(
        ct_dataset(study_uid=study, series_uid=series, SOPInstanceUID=sop), tmp_path / "1.dcm"
    )
    second = write(
        ct_dataset(study_uid=study, series_uid=series, SOPInstanceUID=sop, StudyDescription="x"),
        tmp_path / "2.dcm",
    )
    kept = ingest(first, sender).instance.blob_id
    with pytest.raises(Refused) as refused:
        ingest(second, sender)
    assert refused.value.status == 0x0111
    assert _all(ImagingInstance).get().blob_id == kept
    assert Blob.objects.count() == 1


def test_a_study_keeps_its_patient(tmp_path, sender):
    study = generate_uid()
    ingest(ct_series(tmp_path / "a", 1, study_uid=study)[0], sender)
    with pytest.raises(Refused) as refused:
        ingest(ct_series(tmp_path / "b", 1, study_uid=study, patient_id="OTHER")[0], sender)
    assert refused.value.status == 0xA900
    assert _all(ImagingInstance).count() == 1


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm"],
)
def test_it_accepts_pydicoms_files_in_their_transfer_syntax(tmp_path, sender, name):
    source = Path(str(get_testdata_file(name)))
    path = tmp_path / name
    shutil.copy(source, path)
    instance = ingest(path, sender).instance
    assert instance.blob.sha256 == Blob.objects.get().sha256
    with get_blob_store().open(instance.blob.sha256) as stream:
        assert stream.read() == source.read_bytes()


# -- bad input ---------------------------------------------------------------------------


def _bad(tmp_path: Path, **overrides: Any) -> Path:
    ds = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid(), **overrides)
    return write(ds, tmp_path / "bad.dcm")


def _truncated(tmp_path: Path) -> Path:
    good = ct_series(tmp_path / "src", 1)[0].read_bytes()
    path = tmp_path / "truncated.dcm"
    path.write_bytes(good[: len(good) - 1000])
    return path


def _not_dicom(tmp_path: Path) -> Path:
    path = tmp_path / "notes.dcm"
    path.write_bytes(b"%PDF-1.4 not an image at all\n" * 20)
    return path


def _polyglot(tmp_path: Path) -> Path:
    good = bytearray(ct_series(tmp_path / "src", 1)[0].read_bytes())
    good[:4] = b"MZ\x90\x00"  # a Windows executable header in the preamble
    path = tmp_path / "polyglot.dcm"
    path.write_bytes(bytes(good))
    return path


def _huge(tmp_path: Path) -> Path:
    return _bad(tmp_path, Rows=65535, Columns=65535)


def _short_pixels(tmp_path: Path) -> Path:
    return _bad(tmp_path, PixelData=b"\x00" * 100)


def _slash_uid(tmp_path: Path) -> Path:
    return _bad(tmp_path, SOPInstanceUID="1.2.3/../../etc")


def _dotdot_uid(tmp_path: Path) -> Path:
    ds = ct_dataset(study_uid="1.2..3", series_uid=generate_uid())
    return write(ds, tmp_path / "dotdot.dcm")


def _long_uid(tmp_path: Path) -> Path:
    ds = ct_dataset(study_uid="1." + "2" * 70, series_uid=generate_uid())
    return write(ds, tmp_path / "long.dcm")


def _missing(keyword: str):
    def build(tmp_path: Path) -> Path:
        return _bad(tmp_path, **{keyword: None})

    return build


BAD = {
    "truncated": (_truncated, 0xC000),
    "not DICOM": (_not_dicom, 0xC000),
    "polyglot preamble": (_polyglot, 0xC000),
    "65535 x 65535": (_huge, 0xA700),
    "pixel length mismatch": (_short_pixels, 0xA900),
    "UID with slash": (_slash_uid, 0xC000),
    "UID with ..": (_dotdot_uid, 0xC000),
    "UID too long": (_long_uid, 0xC000),
    "no PatientID": (_missing("PatientID"), 0xC000),
    "no Modality": (_missing("Modality"), 0xC000),
    "no StudyInstanceUID": (_missing("StudyInstanceUID"), 0xC000),
    "no SeriesInstanceUID": (_missing("SeriesInstanceUID"), 0xC000),
    "no pixel data": (_missing("PixelData"), 0xA900),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, sender, case):
    build, status = BAD[case]
    path = build(tmp_path)
    with pytest.raises(Refused) as refused:
        ingest(path, sender)
    assert refused.value.status == status, refused.value.reason
    assert not _all(ImagingStudy).exists() and not _all(ImagingInstance).exists()
    assert not Blob.objects.exists()
    denied = AuditEvent.objects.get(object_type="imaging_instance")
    assert denied.outcome == Outcome.DENIED


def test_the_announced_sop_class_and_instance_must_match(tmp_path, sender):
    path = ct_series(tmp_path, 1)[0]
    with pytest.raises(Refused) as refused:
        ingest(path, sender, sop_class_uid="1.2.840.10008.5.1.4.1.1.4")
    assert refused.value.status == 0xA900
    with pytest.raises(Refused):
        ingest(path, sender, sop_instance_uid="1.2.3.4")
    assert not _all(ImagingInstance).exists()
