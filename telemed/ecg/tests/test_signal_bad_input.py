"""Bad uploads are refused with an EcgFormatError that says why (422, or 413 when too big)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers import read_record
from telemed.ecg.signal.readers.common import build_record
from telemed.ecg.tests import signal_fixtures as sf


@pytest.fixture(autouse=True)
def english():
    # The messages are asserted in English; the Chinese catalogue is the ecg app's.
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def ecg():
    return sf.synthetic(duration_s=4.0, noise_uv=5)[0]


def refused(files, filename: str, *, status: int = 422, says: str = "") -> EcgFormatError:
    with pytest.raises(EcgFormatError) as caught:
        read_record(files, filename=filename)
    error = caught.value
    assert error.status == status
    assert error.message and says.lower() in error.message.lower()
    return error


def _csv(rows: list[str], rate: str = "500") -> bytes:
    return ("\n".join([f"# sampling_rate={rate}", "I,II", *rows]) + "\n").encode()


# --- samples -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_samples_are_refused(bad) -> None:
    rows = ["10,20"] * 2000
    rows[700] = f"{bad},20"
    refused(_csv(rows), "x.csv", says="not numbers")


def test_a_failed_fhir_sample_is_refused(ecg) -> None:
    doc = json.loads(sf.fhir_json(ecg))
    data = doc["component"][3]["valueSampledData"]["data"].split()
    data[10] = "E"
    doc["component"][3]["valueSampledData"]["data"] = " ".join(data)
    refused(json.dumps(doc).encode(), "o.json", says="aVR")


def test_non_numeric_aecg_digits_are_refused(ecg) -> None:
    xml = sf.aecg_bytes(ecg).replace(b"<digits>", b"<digits>12 x7 ", 1)
    refused(xml, "a.xml", says="not numbers")


def test_an_empty_record_is_refused() -> None:
    refused(_csv([]), "x.csv", says="no samples")


def test_a_one_second_record_is_refused() -> None:
    error = refused(_csv(["10,20"] * 500), "x.csv", says="at least 2.5")
    assert error.details["duration_s"] == 1.0


def test_two_and_a_half_seconds_is_enough() -> None:
    record = read_record(_csv(["10,20"] * 1250), filename="x.csv")
    assert record.duration_s == 2.5


def test_leads_of_different_lengths_are_refused(ecg) -> None:
    doc = json.loads(sf.fhir_json(ecg))
    doc["component"][5]["valueSampledData"]["data"] += " 1 2 3"
    refused(json.dumps(doc).encode(), "o.json", says="different lengths")


def test_aecg_leads_of_different_lengths_are_refused(ecg) -> None:
    xml = sf.aecg_bytes(ecg).replace(b"</digits>", b" 5 5</digits>", 1)
    refused(xml, "a.xml", says="different lengths")


def test_a_csv_row_short_of_values_is_refused() -> None:
    rows = ["10,20"] * 2000
    rows[5] = "10"
    refused(_csv(rows), "x.csv", says="row 8")


def test_a_lead_named_twice_is_refused() -> None:
    with pytest.raises(EcgFormatError, match="twice"):
        build_record(
            sampling_rate=500,
            leads=["II", "ii"],
            channels=[np.zeros(2000)] * 2,
            source_format="csv",
        )


# --- rates and units -------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["50", "99.9", "10001", "20000", "0", "-500"])
def test_rates_outside_100_to_10000_hz_are_refused(rate) -> None:
    # The rate is checked before the duration, so a short file shows it.
    refused(_csv(["10,20"] * 2000, rate=rate), "x.csv", says="sampling rate")


def test_a_csv_without_a_rate_is_refused() -> None:
    refused(b"I,II\n" + b"1,2\n" * 3000, "x.csv", says="sampling rate")


def test_a_wfdb_record_at_50_hz_is_refused() -> None:
    record = sf.synthetic(rate=500.0)[0]
    files = sf.wfdb_files(record, name="r")
    header = files["r.hea"].decode().replace("r 12 500 5000", "r 12 50 5000", 1)
    files["r.hea"] = header.encode()
    refused(files, "r.hea", says="50 Hz")


def test_a_dicom_rate_outside_the_range_is_refused(ecg) -> None:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(sf.dicom_bytes(ecg)))
    ds.WaveformSequence[0].SamplingFrequency = "20000"
    out = io.BytesIO()
    ds.save_as(out)
    refused(out.getvalue(), "e.dcm", says="20000")


def test_non_voltage_units_are_refused_in_every_format(ecg) -> None:
    files = sf.wfdb_files(ecg, name="r")
    files["r.hea"] = files["r.hea"].replace(b"/mV", b"/mmHg")
    refused(files, "r.hea", says="mmHg")
    refused(sf.dicom_bytes(ecg, units="mmHg"), "e.dcm", says="mmHg")
    refused(sf.aecg_bytes(ecg, unit="degC"), "a.xml", says="degC")
    refused(sf.fhir_json(ecg, unit="mm[Hg]"), "o.json", says="mm[Hg]")
    csv = sf.csv_bytes(ecg).replace(b"# sampling_rate=500\n", b"# sampling_rate=500\n# unit=mmHg\n")
    refused(csv, "x.csv", says="mmHg")


def test_a_fhir_lead_without_a_unit_is_refused(ecg) -> None:
    doc = json.loads(sf.fhir_json(ecg))
    doc["component"][0]["valueSampledData"]["origin"] = {"value": 0}
    refused(json.dumps(doc).encode(), "o.json", says="no unit")


# --- XML -----------------------------------------------------------------------------------


def test_xml_with_a_dtd_is_refused(ecg) -> None:
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE AnnotatedECG [<!ELEMENT AnnotatedECG ANY>]>'
    refused(sf.aecg_bytes(ecg, prolog=prolog), "a.xml", says="DTD")


def test_xml_with_an_external_entity_is_refused(ecg) -> None:
    prolog = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE AnnotatedECG [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    )
    xml = sf.aecg_bytes(ecg, prolog=prolog).replace(b"<digits>", b"<digits>&secret;", 1)
    refused(xml, "a.xml", says="entities")


def test_xml_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<AnnotatedECG xmlns="urn:hl7-org:v3">&lol2;</AnnotatedECG>'
    )
    refused(bomb, "a.xml")


def test_xml_that_is_not_an_aecg_is_refused() -> None:
    refused(b"<note><to>someone</to></note>", "a.xml", says="AnnotatedECG")


# --- size, truncation, garbage --------------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_with_413(settings, ecg) -> None:
    settings.ECG_MAX_BYTES = 64 * 1024
    data = sf.csv_bytes(ecg)
    assert len(data) > settings.ECG_MAX_BYTES
    error = refused(data, "x.csv", status=413, says="larger than")
    assert error.code == "ecg_too_large"


def test_the_limit_counts_every_file_of_a_wfdb_record(settings, ecg) -> None:
    files = sf.wfdb_files(ecg, name="r")
    settings.ECG_MAX_BYTES = len(files["r.dat"]) + 10
    refused(files, "r.hea", status=413)


def test_an_oversized_stream_is_not_read_whole(settings) -> None:
    settings.ECG_MAX_BYTES = 4096

    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            assert size != -1, "read without a bound"
            self.served += size
            return (b"1," * size)[:size]

    stream = Endless()
    refused({"x.csv": stream}, "x.csv", status=413)
    assert stream.served <= 4097


def test_a_truncated_dat_file_is_refused(ecg) -> None:
    files = sf.wfdb_files(ecg, name="r")
    files["r.dat"] = files["r.dat"][: len(files["r.dat"]) // 2]
    error = refused(files, "r.hea", says="truncated")
    assert error.details["file"] == "r.dat"


def test_a_header_without_its_signal_file_is_refused(ecg) -> None:
    files = sf.wfdb_files(ecg, name="r")
    del files["r.dat"]
    refused(files, "r.hea", says="not uploaded")


def test_a_header_naming_a_path_is_refused(ecg) -> None:
    files = sf.wfdb_files(ecg, name="r")
    files["r.hea"] = files["r.hea"].replace(b"r.dat", b"../../etc/passwd")
    refused(files, "r.hea")
    files["r.hea"] = files["r.hea"].replace(b"../../etc/passwd", b"passwd")
    refused(files, "r.hea", says="not uploaded")


@pytest.mark.parametrize("filename", ["x.hea", "x.dcm", "x.xml", "x.json", "x.csv", "x.txt"])
def test_garbage_with_a_known_extension_is_refused(filename) -> None:
    garbage = bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8))
    refused({filename: garbage, "x.dat": garbage}, filename)


def test_an_unknown_format_is_refused() -> None:
    refused(b"\x00\x01\x02 binary", "x.bin", says="not recognised")


def test_a_dicom_object_that_is_not_an_ecg_is_refused(ecg) -> None:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(sf.dicom_bytes(ecg)))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT image
    out = io.BytesIO()
    ds.save_as(out)
    refused(out.getvalue(), "e.dcm", says="not an ECG")


def test_a_dicom_waveform_cut_short_is_refused(ecg) -> None:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(sf.dicom_bytes(ecg)))
    group = ds.WaveformSequence[0]
    group.WaveformData = group.WaveformData[: len(group.WaveformData) // 3]
    out = io.BytesIO()
    ds.save_as(out)
    refused(out.getvalue(), "e.dcm", says="could not be decoded")


def test_a_json_document_that_is_not_an_observation_is_refused() -> None:
    refused(b'{"resourceType": "Patient"}', "o.json", says="Observation")


def test_an_invalid_observation_is_refused() -> None:
    refused(b'{"resourceType": "Observation", "status": 7}', "o.json", says="not valid")


def test_the_reason_is_given_in_chinese_to_a_chinese_reader() -> None:
    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    with translation.override("zh-hans"):
        error = refused(_csv(["10,20"] * 500), "x.csv")
    assert "秒" in error.message


_SAMPLES: dict[str, dict[str, bytes]] = {}


def _sample(kind: str) -> dict[str, bytes]:
    if kind not in _SAMPLES:
        record = sf.synthetic(duration_s=3.0, leads=("I", "II", "V1"))[0]
        _SAMPLES[kind] = {
            "wfdb": sf.wfdb_files(record, name="r"),
            "dicom": {"r.dcm": sf.dicom_bytes(record)},
            "aecg": {"r.xml": sf.aecg_bytes(record)},
            "csv": {"r.csv": sf.csv_bytes(record)},
            "fhir": {"r.json": sf.fhir_json(record)},
        }[kind]
    return _SAMPLES[kind]


_MAIN = {"wfdb": "r.hea", "dicom": "r.dcm", "aecg": "r.xml", "csv": "r.csv", "fhir": "r.json"}


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(_MAIN)),
    which=st.integers(0, 1),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=6),
)
def test_a_damaged_file_of_any_format_is_read_or_refused_never_crashes(
    kind, which, cut, flips
) -> None:
    files = dict(_sample(kind))
    name = sorted(files)[min(which, len(files) - 1)]
    data = bytearray(files[name][: max(1, int(len(files[name]) * cut))] if cut < 1 else files[name])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    files[name] = bytes(data)
    try:
        record = read_record(files, filename=_MAIN[kind])
    except EcgFormatError as error:
        assert error.status == 422 and error.message
    else:
        assert np.isfinite(record.samples).all() and record.duration_s >= 2.5


def test_deeply_nested_json_is_refused() -> None:
    refused(b"[" * 200_000 + b"]" * 200_000, "o.json", says="JSON")
