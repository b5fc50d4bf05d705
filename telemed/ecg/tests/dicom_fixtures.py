"""DICOM ECG waveform objects for the intake tests, built with pydicom from the real PTB
12-lead record (s0010_re, read from ``../shared/data/ecg/``, never copied) or from a
synthetic record, and damaged on purpose for the refusals."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from telemed.ecg.signal.readers import read_path
from telemed.ecg.signal.readers.common import build_record
from telemed.ecg.signal.record import STANDARD_LEADS, EcgRecord
from telemed.ecg.tests.signal_fixtures import REAL_DATA, dicom_bytes


def ptb_twelve_lead(seconds: float = 10.0) -> EcgRecord:
    """The first ``seconds`` of PTB s0010_re's twelve standard leads (1000 Hz)."""
    whole = read_path(REAL_DATA / "s0010_re.hea")
    rows = [whole.leads.index(name) for name in STANDARD_LEADS]
    count = int(seconds * whole.sampling_rate)
    return build_record(
        sampling_rate=whole.sampling_rate,
        leads=STANDARD_LEADS,
        channels=[whole.samples[row, :count] for row in rows],
        source_format="wfdb",
    )


def ecg_object(
    record: EcgRecord,
    *,
    patient_id: str = "ECG-0001",
    birth_date: str = "19600517",
    sex: str = "F",
    general: bool = False,
) -> Dataset:
    """A 12-lead (or General) ECG object for the patient, as a cart would send it."""
    ds = pydicom.dcmread(
        io.BytesIO(dicom_bytes(record, patient_id=patient_id, general=general, units="uV"))
    )
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    return ds


def write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def with_rate(ds: Dataset, rate: str) -> Dataset:
    ds.WaveformSequence[0].SamplingFrequency = rate
    return ds


def with_short_data(ds: Dataset) -> Dataset:
    """Waveform data two samples short of what the group declares (leads of unequal
    lengths when decoded)."""
    group = ds.WaveformSequence[0]
    channels = int(group.NumberOfWaveformChannels)
    group.WaveformData = group.WaveformData[: -2 * 2 * channels + 2]
    return ds


def with_unit(ds: Dataset, unit: str) -> Dataset:
    for channel in ds.WaveformSequence[0].ChannelDefinitionSequence:
        channel.ChannelSensitivityUnitsSequence[0].CodeValue = unit
    return ds


def without_waveform(ds: Dataset) -> Dataset:
    del ds.WaveformSequence
    return ds


def one_second(record: EcgRecord) -> EcgRecord:
    count = int(record.sampling_rate)
    return EcgRecord(
        sampling_rate=record.sampling_rate,
        leads=record.leads,
        samples=np.ascontiguousarray(record.samples[:, :count]),
        source_format=record.source_format,
        meta={},
    )
