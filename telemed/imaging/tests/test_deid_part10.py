"""The profile and the de-identifying stream on their own: every kind of stored object
(native, encapsulated, elements after the pixel data, no pixel data) comes out through the
profile with its pixel data byte for byte, in its own transfer syntax."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from telemed.directory.models import Institution, Tier
from telemed.imaging.confidentiality import part10
from telemed.imaging.confidentiality.profile import deidentify
from telemed.imaging.confidentiality.pseudonyms import Pseudonyms
from telemed.imaging.models import ImagingInstance
from telemed.imaging.services import Sender, ingest
from telemed.imaging.testing import ct_dataset, write


@pytest.fixture
def partner(network):
    return Institution.objects.create(
        code="EXT", name="合作医院", name_en="Partner", tier=Tier.EXTERNAL_PARTNER
    )


def _out(network, partner, path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset, bytes]:
    ingest(path, Sender(institution=network.county_a, calling_ae_title="COUNTY_A"))
    sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    row = (
        ImagingInstance.objects.unscoped("test")
        .select_related("blob", "study")
        .get(sop_instance_uid=sop)
    )
    replacements = Pseudonyms(partner).for_study(row.study)
    data = b"".join(part10.deidentified(row, replacements))
    return pydicom.dcmread(path), pydicom.dcmread(io.BytesIO(data)), data


def test_encapsulated_pixel_data_passes_through(network, partner, tmp_path):
    path = tmp_path / "j2k.dcm"
    shutil.copy(str(get_testdata_file("JPEG2000.dcm", download=False)), path)
    original, out, data = _out(network, partner, path)
    assert out.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert out.PixelData == original.PixelData
    assert out.SOPInstanceUID != original.SOPInstanceUID and out.PatientIdentityRemoved == "YES"
    assert str(original.PatientName).encode() not in data
    assert out.pixel_array.tobytes() == original.pixel_array.tobytes()


def test_elements_after_the_pixel_data_go_through_the_profile(network, partner, tmp_path):
    ds = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid())
    ds.private_block(0x7FE1, "TELEMED TAIL", create=True).add_new(0x01, "LO", "secret tail")
    ds.add_new(0xFFFCFFFC, "OB", b"\x00" * 16)
    original, out, data = _out(network, partner, write(ds, tmp_path / "tail.dcm"))
    assert b"secret tail" not in data and out.PixelData == original.PixelData
    assert not any(element.tag.is_private for element in out)
    assert "DataSetTrailingPadding" not in out


@pytest.mark.parametrize(
    "syntax", [DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian]
)
def test_other_encodings_keep_their_transfer_syntax(network, partner, tmp_path, syntax):
    ds = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid())
    ds.file_meta.TransferSyntaxUID = syntax
    if syntax == ExplicitVRBigEndian:
        ds.PixelData = ds.pixel_array.astype(">u2").tobytes()
    path = tmp_path / "other.dcm"
    ds.save_as(
        path,
        enforce_file_format=True,
        implicit_vr=syntax == ImplicitVRLittleEndian,
        little_endian=syntax != ExplicitVRBigEndian,
    )
    original, out, data = _out(network, partner, path)
    assert out.file_meta.TransferSyntaxUID == syntax
    assert out.PixelData == original.PixelData and out.PatientIdentityRemoved == "YES"
    assert out.pixel_array.tobytes() == original.pixel_array.tobytes()
    assert b"Zhang" not in data


def test_the_profile_on_a_data_set():
    class Fixed:
        patient_id = "ANON-TEST"
        patient_name = "ANONYMOUS^ANON-TEST"

        def uid(self, original: str) -> str:
            return "2.25.1" + original.replace(".", "")[-20:]

    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "Zhang^Xiuying"
    ds.PatientID = "A-0001"
    ds.PatientBirthDate = "19600517"
    ds.PatientSex = "F"
    ds.PatientAge = "066Y"
    ds.StudyDate = "20261130"
    ds.InstitutionName = "Anyang County Hospital"
    ds.OperatorsName = "Wu^Tech"
    ds.PerformingPhysicianName = "Zhao^Doc"
    ds.add_new(0x00091010, "LO", "private")
    ds.add_new(0x60003000, "OW", b"\x00\x00")
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = "1.2.3.5"
    item.add_new(0x0040A123, "PN", "Other^Person")  # PersonName: a dummy
    ds.SourceImageSequence = [item]
    deidentify(ds, Fixed())
    assert ds.PatientName == "ANONYMOUS^ANON-TEST" and ds.PatientID == "ANON-TEST"
    assert ds.PatientBirthDate == "" and ds.InstitutionName == "" and ds.OperatorsName == ""
    assert "PerformingPhysicianName" not in ds and 0x00091010 not in ds and 0x60003000 not in ds
    assert ds.PatientSex == "F" and ds.PatientAge == "066Y" and ds.StudyDate == "20261130"
    assert ds.SOPClassUID == CTImageStorage and ds.SOPInstanceUID.startswith("2.25.1")
    source = ds.SourceImageSequence[0]
    assert source.ReferencedSOPClassUID == CTImageStorage
    assert source.ReferencedSOPInstanceUID == Fixed().uid("1.2.3.5")
    assert str(source[0x0040A123].value) == "ANONYMOUS"
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_pseudonyms_are_stable_per_recipient_and_differ_between_recipients(network, partner):
    other = Institution.objects.create(
        code="EXT2", name="另一合作医院", name_en="Other", tier=Tier.EXTERNAL_PARTNER
    )
    first, again, elsewhere = Pseudonyms(partner), Pseudonyms(partner), Pseudonyms(other)
    uid = generate_uid()
    assert first.uid(uid) == again.uid(uid) != elsewhere.uid(uid)
    assert first.uid(uid).startswith("2.25.") and len(first.uid(uid)) <= 64
    assert first.patient_id("mpi:1") == again.patient_id("mpi:1") != elsewhere.patient_id("mpi:1")
