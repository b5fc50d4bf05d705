"""Every intake format reads back the record it was written from, in microvolts."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from telemed.ecg.signal import codes
from telemed.ecg.signal.analysis import analyze
from telemed.ecg.signal.readers import detect_format, read_path, read_record
from telemed.ecg.signal.readers.dicom_format import dataset_to_record
from telemed.ecg.signal.record import STANDARD_LEADS
from telemed.ecg.tests import signal_fixtures as sf


@pytest.fixture(scope="module")
def original():
    record, _truth = sf.synthetic(heart_rate=72, noise_uv=5, seed=4)
    return record


def _uploads(fmt: str, record):
    if fmt == "wfdb":
        return sf.wfdb_files(record, name="township-cart"), "township-cart.hea", 0.02
    if fmt == "wfdb-212":
        return sf.wfdb_files(record, name="cart", fmt="212"), "cart.hea", 0.3
    if fmt == "wfdb-uv":
        return sf.wfdb_files(record, name="cart", units="uV"), "cart.hea", 0.6
    if fmt == "dicom":
        return sf.dicom_bytes(record), "ecg.dcm", 1.3
    if fmt == "dicom-mv":
        return sf.dicom_bytes(record, units="mV"), "ecg.dcm", 1.3
    if fmt == "aecg":
        return sf.aecg_bytes(record), "ecg.xml", 0.6
    if fmt == "aecg-mv":
        return sf.aecg_bytes(record, scale_uv=5.0, unit="mV"), "ecg.xml", 2.6
    if fmt == "csv":
        return sf.csv_bytes(record), "ecg.csv", 0.01
    if fmt == "csv-time-mv":
        return sf.csv_bytes(record, time_column=True, unit="mV"), "ecg.csv", 0.01
    if fmt == "fhir":
        return sf.fhir_json(record), "observation.json", 1.3
    raise AssertionError(fmt)


FORMATS = [
    "wfdb",
    "wfdb-212",
    "wfdb-uv",
    "dicom",
    "dicom-mv",
    "aecg",
    "aecg-mv",
    "csv",
    "csv-time-mv",
    "fhir",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_reads_back_what_was_written(fmt, original) -> None:
    files, filename, tolerance_uv = _uploads(fmt, original)
    record = read_record(files, filename=filename)
    assert record.source_format == fmt.split("-")[0]
    assert record.leads == STANDARD_LEADS
    assert record.sampling_rate == pytest.approx(500.0)
    assert record.samples.shape == original.samples.shape
    assert record.samples.dtype == np.float64
    assert np.abs(record.samples - original.samples).max() <= tolerance_uv
    assert record.duration_s == pytest.approx(10.0)


@pytest.mark.parametrize("fmt", ["wfdb", "dicom", "aecg", "csv", "fhir"])
def test_every_format_gives_the_same_measurements(fmt, original) -> None:
    files, filename, _ = _uploads(fmt, original)
    expected = analyze(original)
    analysis = analyze(read_record(files, filename=filename))
    assert analysis.rhythm == expected.rhythm == codes.SINUS_RHYTHM
    assert analysis.heart_rate_bpm == pytest.approx(expected.heart_rate_bpm, abs=0.2)
    assert analysis.qrs_ms == pytest.approx(expected.qrs_ms, abs=4)
    assert analysis.beats == expected.beats


def test_a_file_object_upload_reads_like_bytes(original) -> None:
    data = sf.dicom_bytes(original)
    record = read_record({"ecg.dcm": io.BytesIO(data)}, filename="ecg.dcm")
    assert record.leads == STANDARD_LEADS


def test_a_single_upload_may_be_given_as_bytes(original) -> None:
    assert read_record(sf.csv_bytes(original), filename="x.csv").source_format == "csv"


def test_an_uploaded_path_counts_by_its_last_part(original) -> None:
    files = {f"C:\\exports\\{k}": v for k, v in sf.wfdb_files(original, name="r1").items()}
    assert read_record(files, filename="C:\\exports\\r1.hea").leads == STANDARD_LEADS


def test_dicom_keeps_what_identifies_the_acquisition(original) -> None:
    record = read_record(sf.dicom_bytes(original, patient_id="SYN-42"), filename="a.dcm")
    assert record.meta["patient_id"] == "SYN-42"
    assert record.meta["sop_class"] == "12-lead ECG"
    assert record.meta["device"] == "Synthetic Cart"


def test_a_general_ecg_dataset_converts_without_a_file(original) -> None:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(sf.dicom_bytes(original, general=True)))
    record = dataset_to_record(ds)
    assert record.meta["sop_class"] == "General ECG"
    assert record.source_format == "dicom"


def test_the_format_is_detected_by_content_without_an_extension(original) -> None:
    assert detect_format("upload", sf.dicom_bytes(original)) == "dicom"
    assert detect_format("upload", sf.aecg_bytes(original)) == "aecg"
    assert detect_format("upload", sf.fhir_json(original)) == "fhir"
    assert detect_format("upload", sf.csv_bytes(original)) == "csv"
    assert read_record(sf.aecg_bytes(original), filename="upload").source_format == "aecg"


def test_lead_names_are_made_standard() -> None:
    record = read_path(sf.REAL_DATA / "s0010_re.hea")
    assert record.leads[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert record.leads[12:] == ("vx", "vy", "vz")  # Frank leads keep their own names


def test_a_wfdb_upload_without_the_frank_leads_file_reads_the_twelve() -> None:
    files = {name: (sf.REAL_DATA / name).read_bytes() for name in ("s0010_re.hea", "s0010_re.dat")}
    record = read_record(files, filename="s0010_re.hea")
    assert record.leads == STANDARD_LEADS


def test_mitbih_keeps_its_own_lead_names() -> None:
    record = read_path(sf.REAL_DATA / "100.hea")
    assert record.leads == ("MLII", "V5")
    assert record.sampling_rate == 360.0
    assert record.n_samples == 650000


def test_a_fhir_r5_observation_with_interval_reads(original) -> None:
    doc = json.loads(sf.fhir_json(original))
    for component in doc["component"]:
        sampled = component["valueSampledData"]
        sampled["interval"] = sampled.pop("period")
        sampled["intervalUnit"] = "ms"
    record = read_record(json.dumps(doc).encode(), filename="o.json")
    assert record.sampling_rate == pytest.approx(500.0)
    assert np.abs(record.samples - original.samples).max() <= 1.3


def test_fhir_lead_codes_may_be_the_mdc_lead_codes_or_a_display(original) -> None:
    doc = json.loads(sf.fhir_json(original))
    doc["component"][0]["code"]["coding"][0]["code"] = "131073"  # MDC_ECG_LEAD_I
    doc["component"][1]["code"] = {"coding": [{"display": "MDC_ECG_LEAD_II"}]}
    doc["component"][2]["code"] = {"text": "Lead III"}
    record = read_record(json.dumps(doc).encode(), filename="o.json")
    assert record.leads[:3] == ("I", "II", "III")


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_with_semicolons_or_tabs(delimiter, original) -> None:
    data = sf.csv_bytes(original).replace(b",", delimiter.encode())
    record = read_record(data, filename="x.csv")
    assert record.leads == STANDARD_LEADS


def test_csv_with_a_time_column_and_a_matching_rate(original) -> None:
    data = sf.csv_bytes(original, time_column=True)
    data = b"# sampling_rate=500\n" + data
    assert read_record(data, filename="x.csv").sampling_rate == 500.0


def test_aecg_with_a_relative_time_axis_in_ms(original) -> None:
    xml = sf.aecg_bytes(original)
    xml = xml.replace(b'code="TIME_ABSOLUTE"', b'code="TIME_RELATIVE"')
    xml = xml.replace(b'<increment value="0.002" unit="s"/>', b'<increment value="2" unit="ms"/>')
    assert b'unit="ms"' in xml
    assert read_record(xml, filename="a.xml").sampling_rate == pytest.approx(500.0)


def test_dicom_mdc_lead_codes_and_a_median_group_first(original) -> None:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(sf.dicom_bytes(original)))
    for channel, code in zip(
        ds.WaveformSequence[0].ChannelDefinitionSequence,
        ("2:1", "2:2", "2:61", "2:62", "2:63", "2:64", "2:3", "2:4", "2:5", "2:6", "2:7", "2:8"),
        strict=True,
    ):
        source = channel.ChannelSourceSequence[0]
        source.CodingSchemeDesignator = "MDC"
        source.CodeValue = code
        source.CodeMeaning = "?"
    median = pydicom.Dataset()
    median.update(ds.WaveformSequence[0])
    median.MultiplexGroupLabel = "MEDIAN"
    ds.WaveformSequence = [median, ds.WaveformSequence[0]]
    out = io.BytesIO()
    ds.save_as(out)
    record = read_record(out.getvalue(), filename="e.dcm")
    assert record.leads == STANDARD_LEADS


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("ii", "II"),
        ("AVR", "aVR"),
        ("Lead I (Einthoven)", "I"),
        ("Lead aVF (Goldberger)", "aVF"),
        ("MDC_ECG_LEAD_V4", "V4"),
        ("MDC_ECG_ELEC_POTL_AVL", "aVL"),
        ("MLII", "MLII"),
        ("vx", "vx"),
    ],
)
def test_lead_name_spellings(raw, name) -> None:
    from telemed.ecg.signal.readers.common import lead_name

    assert lead_name(raw) == name
