"""Builders for imaging tests: small synthetic CT series written as DICOM Part 10 files."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from telemed.imaging.models import ImagingStudy

if TYPE_CHECKING:
    from telemed.directory.models import Institution


def ct_dataset(
    *,
    study_uid: str,
    series_uid: str,
    index: int = 1,
    patient_id: str = "A-0001",
    patient_name: str = "Zhang^Xiuying",
    rows: int = 64,
    columns: int = 64,
    **overrides: Any,
) -> Dataset:
    """One synthetic CT slice, 16-bit, with every attribute the index and QC look at."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    sop_uid = overrides.pop("SOPInstanceUID", None) or generate_uid()
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = "19600517"
    ds.PatientSex = "F"
    ds.StudyDate = "20261130"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC1"
    ds.StudyID = "1"
    ds.StudyDescription = "CT chest"
    ds.ReferringPhysicianName = "Li^Xian"
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.SeriesNumber = 1
    ds.SeriesDescription = "axial"
    ds.InstanceNumber = index
    ds.ImagePositionPatient = [0, 0, float(index)]
    ds.SliceThickness = 1.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    pixels = (np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns) + index) % 4096
    ds.PixelData = pixels.tobytes()
    for keyword, value in overrides.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def ct_series(directory: Path, count: int = 3, **attributes: Any) -> list[Path]:
    """``count`` slices of one new series (one new study unless ``study_uid`` is given)."""
    directory.mkdir(parents=True, exist_ok=True)
    study_uid = attributes.pop("study_uid", None) or generate_uid()
    series_uid = attributes.pop("series_uid", None) or generate_uid()
    return [
        write(
            ct_dataset(study_uid=study_uid, series_uid=series_uid, index=i + 1, **attributes),
            directory / f"ct-{series_uid[-8:]}-{i + 1:04d}.dcm",
        )
        for i in range(count)
    ]


def dataset_bytes(data: bytes) -> bytes:
    """The data set of a Part 10 file without its preamble and file meta group, to compare
    what was sent with what was stored (the meta is rewritten by the receiver)."""
    assert data[128:132] == b"DICM"
    # (0002,0000) UL group length, explicit VR little endian: tag, "UL", 2-byte length, value.
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length :]


def received_study(
    institution: Institution, patient_id: str = "A-0001", slices: int = 1
) -> ImagingStudy:
    """A study as if the institution's PACS had sent it (linked to the MPI patient the
    institution registered under ``patient_id``, if any)."""
    from telemed.imaging.services import Sender, ingest

    study_uid = generate_uid()
    with tempfile.TemporaryDirectory() as directory:
        for path in ct_series(Path(directory), slices, study_uid=study_uid, patient_id=patient_id):
            ingest(path, Sender(institution=institution, calling_ae_title="TEST"))
    return ImagingStudy.objects.unscoped("test builder").get(
        institution=institution, study_instance_uid=study_uid
    )
