"""Synthetic ECGs with known answers, and writers for every intake format.

These double as the way other tests (the ECG workflow's intake, API and browser tests) get
sample files: build a record with ``synthetic()`` or ``simulated()``, then turn it into
upload bytes with ``wfdb_files``, ``dicom_bytes``, ``aecg_bytes``, ``csv_bytes`` or
``fhir_json``. Every record here is synthetic; the real ones are read from
``REAL_DATA`` (MIT-BIH Arrhythmia Database record 100, Moody & Mark 2001; PTB Diagnostic
ECG Database record s0010_re, Bousseljot et al. 1995; both from PhysioNet, Goldberger et
al. 2000), never copied into the project.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from telemed.ecg.signal.readers.common import build_record
from telemed.ecg.signal.record import STANDARD_LEADS, EcgRecord

REAL_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ecg"

#: Frontal-plane angle of each limb lead (degrees), for projecting a heart vector.
_LIMB_ANGLES = {"I": 0.0, "II": 60.0, "III": 120.0, "aVR": -150.0, "aVL": -30.0, "aVF": 90.0}
#: Relative QRS size in the precordial leads (R growing from V1 to V4).
_PRECORDIAL = {"V1": 0.4, "V2": 0.7, "V3": 0.9, "V4": 1.1, "V5": 1.0, "V6": 0.8}


@dataclass(frozen=True)
class Truth:
    """What a synthetic record was built with (intervals in ms, axis in degrees)."""

    pr_ms: float
    qrs_ms: float
    qt_ms: float
    axis_deg: float
    r_peaks: tuple[int, ...]


def _hann(n: int) -> np.ndarray:
    return np.hanning(n + 2)[1:-1] if n > 0 else np.zeros(0)


def synthetic(
    rr_s: Sequence[float] | None = None,
    *,
    rate: float = 500.0,
    duration_s: float = 10.0,
    heart_rate: float = 60.0,
    pr_ms: float = 160.0,
    qrs_ms: float = 90.0,
    qt_ms: float = 400.0,
    axis_deg: float = 50.0,
    p_wave: bool = True,
    st_uv: dict[str, float] | None = None,
    fibrillation_uv: float = 0.0,
    noise_uv: float = 0.0,
    leads: Sequence[str] = STANDARD_LEADS,
    seed: int = 0,
) -> tuple[EcgRecord, Truth]:
    """A 12-lead ECG made of raised-cosine waves with exactly known boundaries.

    The P wave spans ``[qrs_on - pr, qrs_on - pr + 100 ms]``, the QRS (q, R, s) spans
    ``[qrs_on, qrs_on + qrs]``, the T wave ends at ``qrs_on + qt``. ``rr_s`` gives every RR
    interval (else a constant ``heart_rate``); ``st_uv`` lifts the ST segment of some leads
    (J point to T end) by that many microvolts; ``fibrillation_uv`` adds 4-9 Hz atrial
    activity not locked to the beats (use with ``p_wave=False`` for atrial fibrillation).
    """
    rng = np.random.default_rng(seed)
    n = round(duration_s * rate)
    if rr_s is None:
        rr_s = [60.0 / heart_rate] * int(duration_s * heart_rate / 60.0 + 2)
    first = 0.6
    r_times = first + np.concatenate([[0.0], np.cumsum(rr_s)])
    r_times = r_times[r_times < duration_s - 0.6]
    ms = rate / 1000.0
    p_part = np.zeros(n)
    qrs_part = np.zeros(n)
    t_part = np.zeros(n)
    st_mask = np.zeros(n)
    peaks = []
    for r_time in r_times:
        on = round(r_time * rate - 0.4 * qrs_ms * ms)
        q_len, r_len = int(0.2 * qrs_ms * ms), int(0.45 * qrs_ms * ms)
        s_len = round(qrs_ms * ms) - q_len - r_len
        _add(qrs_part, on, -0.1 * _hann(q_len))
        _add(qrs_part, on + q_len, _hann(r_len))
        _add(qrs_part, on + q_len + r_len, -0.25 * _hann(s_len))
        peaks.append(on + q_len + r_len // 2)
        if p_wave:
            _add(p_part, on - round(pr_ms * ms), _hann(int(100 * ms)))
        t_len = int(0.4 * qt_ms * ms)
        t_end = on + round(qt_ms * ms)
        _add(t_part, t_end - t_len, _hann(t_len))
        stop = min(n, t_end)
        start = on + round(qrs_ms * ms)
        if start < n:
            st_mask[start:stop] = 1.0
    t = np.arange(n) / rate
    atrial = np.zeros(n)
    if fibrillation_uv:
        for freq in (4.3, 5.9, 7.1, 8.7):
            atrial += np.sin(2 * math.pi * freq * t + rng.uniform(0, 2 * math.pi))
        atrial *= fibrillation_uv / 4.0
    channels = []
    for name in leads:
        if name in _LIMB_ANGLES:
            gain = math.cos(math.radians(axis_deg - _LIMB_ANGLES[name]))
        else:
            gain = _PRECORDIAL.get(name, 1.0)
        wave = 1200.0 * gain * qrs_part + 150.0 * abs(gain) * p_part + 300.0 * gain * t_part
        wave = wave + atrial + (st_uv or {}).get(name, 0.0) * st_mask
        if noise_uv:
            wave = wave + rng.normal(0.0, noise_uv, n)
        channels.append(wave)
    record = build_record(
        sampling_rate=rate, leads=list(leads), channels=channels, source_format="synthetic"
    )
    return record, Truth(pr_ms, qrs_ms, qt_ms, axis_deg, tuple(peaks))


def _add(target: np.ndarray, start: int, wave: np.ndarray) -> None:
    stop = min(target.size, start + wave.size)
    if start < 0 or start >= stop:
        return
    target[start:stop] += wave[: stop - start]


def simulated(
    *,
    duration_s: float = 10.0,
    rate: float = 500.0,
    heart_rate: float = 70.0,
    noise: float = 0.01,
    seed: int = 1,
    lead: str = "II",
) -> EcgRecord:
    """A realistic one-lead ECG from neurokit2's ECGSYN simulator (mV scaled to uV).

    (neurokit2's "multileads" simulation is not used: its T waves are taller and wider than
    its QRS complexes in most leads, which no detector should be scored on.)
    """
    import neurokit2 as nk

    wave = nk.ecg_simulate(
        duration=duration_s,
        sampling_rate=int(rate),
        heart_rate=heart_rate,
        noise=noise,
        method="ecgsyn",
        random_state=seed,
    )
    return build_record(
        sampling_rate=rate,
        leads=[lead],
        channels=[np.asarray(wave, dtype=float) * 1000.0],
        source_format="synthetic",
    )


# --- writers: one upload per format -------------------------------------------------------


def wfdb_files(
    record: EcgRecord, *, name: str = "ecg", fmt: str = "16", units: str = "mV"
) -> dict[str, bytes]:
    """``{name.hea: ..., name.dat: ...}`` written by wfdb itself."""
    import wfdb

    factor = {"mV": 1e-3, "uV": 1.0}[units]
    with tempfile.TemporaryDirectory() as tmp:
        wfdb.wrsamp(
            name,
            fs=record.sampling_rate,
            units=[units] * len(record.leads),
            sig_name=list(record.leads),
            p_signal=(record.samples * factor).T,
            fmt=[fmt] * len(record.leads),
            write_dir=tmp,
        )
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir()}


#: DICOM lead codes (SCPECG coding scheme) for the standard leads.
SCPECG_CODES = {
    "I": "5.6.3-9-1",
    "II": "5.6.3-9-2",
    "V1": "5.6.3-9-3",
    "V2": "5.6.3-9-4",
    "V3": "5.6.3-9-5",
    "V4": "5.6.3-9-6",
    "V5": "5.6.3-9-7",
    "V6": "5.6.3-9-8",
    "III": "5.6.3-9-61",
    "aVR": "5.6.3-9-62",
    "aVL": "5.6.3-9-63",
    "aVF": "5.6.3-9-64",
}


def dicom_bytes(
    record: EcgRecord,
    *,
    sensitivity_uv: float = 2.5,
    units: str = "uV",
    patient_id: str = "SYN-0001",
    general: bool = False,
) -> bytes:
    """A DICOM 12-lead ECG (or General ECG) waveform object, int16 samples."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    sop_class = UID("1.2.840.10008.5.1.4.1.1.9.1.2" if general else "1.2.840.10008.5.1.4.1.1.9.1.1")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "ECG"
    ds.PatientID = patient_id
    ds.PatientName = "Synthetic^Patient"
    ds.AcquisitionDateTime = "20261201083000"
    ds.Manufacturer = "Synthetic Cart"
    per_uv = {"uV": 1.0, "mV": 1e-3}.get(units, 1.0)
    raw = np.clip(np.round(record.samples / sensitivity_uv), -32768, 32767).astype("<i2")
    group = Dataset()
    group.MultiplexGroupLabel = "RHYTHM"
    group.SamplingFrequency = f"{record.sampling_rate:g}"
    group.NumberOfWaveformChannels = len(record.leads)
    group.NumberOfWaveformSamples = record.n_samples
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    channels = []
    for lead in record.leads:
        channel = Dataset()
        source = Dataset()
        source.CodeValue = SCPECG_CODES.get(lead, "5.6.3-9-0")
        source.CodingSchemeDesignator = "SCPECG"
        source.CodeMeaning = f"Lead {lead}"
        channel.ChannelSourceSequence = [source]
        channel.ChannelSensitivity = f"{sensitivity_uv * per_uv:g}"
        unit = Dataset()
        unit.CodeValue = units
        unit.CodingSchemeDesignator = "UCUM"
        unit.CodeMeaning = units
        channel.ChannelSensitivityUnitsSequence = [unit]
        channel.ChannelSensitivityCorrectionFactor = "1"
        channel.ChannelBaseline = "0"
        channel.WaveformBitsStored = 16
        channels.append(channel)
    group.ChannelDefinitionSequence = channels
    group.WaveformData = raw.T.tobytes()  # sample-interleaved: C1S1, C2S1, ...
    ds.WaveformSequence = [group]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


#: HL7 aECG lead codes (MDC) for the standard leads.
MDC_LEADS = {name: f"MDC_ECG_LEAD_{name.upper()}" for name in STANDARD_LEADS}


def aecg_bytes(
    record: EcgRecord,
    *,
    scale_uv: float = 1.0,
    unit: str = "uV",
    increment_s: float | None = None,
    prolog: str = "",
) -> bytes:
    """An HL7 aECG (AnnotatedECG) document, one rhythm series, digits per lead."""
    increment = increment_s if increment_s is not None else 1.0 / record.sampling_rate
    digits = np.round(record.samples / scale_uv).astype(np.int64)
    per_uv = {"uV": 1.0, "mV": 1e-3}.get(unit, 1.0)  # the scale is written in ``unit``
    parts = [
        prolog or '<?xml version="1.0" encoding="UTF-8"?>',
        '<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        '<id root="2.25.1"/><code code="93000" codeSystem="2.16.840.1.113883.6.12"/>',
        '<effectiveTime><low value="20261201083000"/></effectiveTime>',
        '<component><series><code code="RHYTHM"/><component><sequenceSet>',
        '<component><sequence><code code="TIME_ABSOLUTE"/>'
        '<value xsi:type="GLIST_TS"><head value="20261201083000.000"/>'
        f'<increment value="{increment:.9g}" unit="s"/></value></sequence></component>',
    ]
    for index, lead in enumerate(record.leads):
        code = MDC_LEADS.get(lead, f"MDC_ECG_LEAD_{lead}")
        text = " ".join(str(int(v)) for v in digits[index])
        parts.append(
            f'<component><sequence><code code="{code}" codeSystem="2.16.840.1.113883.6.24"/>'
            f'<value xsi:type="SLIST_PQ"><origin value="0" unit="{unit}"/>'
            f'<scale value="{scale_uv * per_uv:g}" unit="{unit}"/><digits>{text}</digits></value>'
            "</sequence></component>"
        )
    parts.append("</sequenceSet></component></series></component></AnnotatedECG>")
    return "\n".join(parts).encode("utf-8")


def csv_bytes(record: EcgRecord, *, time_column: bool = False, unit: str | None = None) -> bytes:
    """CSV: a ``# sampling_rate=...`` line (or a ``time`` column), a header of lead names."""
    lines = []
    if not time_column:
        lines.append(f"# sampling_rate={record.sampling_rate:g}")
    if unit:
        lines.append(f"# unit={unit}")
    factor = {None: 1.0, "uV": 1.0, "mV": 1e-3}.get(unit, 1.0)
    header = (["time"] if time_column else []) + list(record.leads)
    lines.append(",".join(header))
    for i in range(record.n_samples):
        row = [f"{v * factor:.6g}" for v in record.samples[:, i]]
        if time_column:
            row.insert(0, f"{i / record.sampling_rate:.6f}")
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode("utf-8")


#: MDC electrode-potential codes used by FHIR ECG Observations (code system 11073).
MDC_POTL = {
    "I": "131329",
    "II": "131330",
    "V1": "131331",
    "V2": "131332",
    "V3": "131333",
    "V4": "131334",
    "V5": "131335",
    "V6": "131336",
    "III": "131389",
    "aVR": "131390",
    "aVL": "131391",
    "aVF": "131392",
}


def fhir_json(record: EcgRecord, *, factor: float = 2.5, unit: str = "uV") -> bytes:
    """A FHIR R4 Observation with one ``valueSampledData`` component per lead."""
    period_ms = 1000.0 / record.sampling_rate
    components = []
    for index, lead in enumerate(record.leads):
        data = np.round(record.samples[index] / factor).astype(np.int64)
        components.append(
            {
                "code": {
                    "coding": [
                        {
                            "system": "urn:oid:2.16.840.1.113883.6.24",
                            "code": MDC_POTL.get(lead, "131328"),
                            "display": f"MDC_ECG_ELEC_POTL_{lead.upper()}",
                        }
                    ]
                },
                "valueSampledData": {
                    "origin": {
                        "value": 0,
                        "unit": unit,
                        "system": "http://unitsofmeasure.org",
                        "code": unit,
                    },
                    "period": period_ms,
                    "factor": factor,
                    "dimensions": 1,
                    "data": " ".join(str(int(v)) for v in data),
                },
            }
        )
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "11524-6", "display": "EKG study"}]
        },
        "subject": {"reference": "Patient/synthetic-1"},
        "effectiveDateTime": "2026-12-01T08:30:00+08:00",
        "component": components,
    }
    return json.dumps(observation).encode("utf-8")
