"""Our WFDB reader against wfdb's own (``wfdb.rdheader`` / ``wfdb.rdrecord``): the same
samples, bit for bit, on the PhysioNet records in ``../shared/data/ecg/``, on records wfdb
writes, and on records in the formats wfdb cannot write, packed here by hand from
PhysioNet's signal(5) (so the decoder is checked against an encoder that is not its inverse
by construction, and both against wfdb's reader)."""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers import read_record
from telemed.ecg.signal.readers.common import lead_name, unit_factor
from telemed.ecg.signal.readers.wfdb_header import parse_header
from telemed.ecg.tests import signal_fixtures as sf


@pytest.fixture(autouse=True)
def english():
    # The refusals are asserted in English; the Chinese catalogue is the ecg app's.
    with translation.override("en"):
        yield


REAL_DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "ecg"
LEADS = ("I", "II", "V1")


def wfdb_reads(files: dict[str, bytes], header: str) -> tuple[np.ndarray, list[str], float]:
    """What wfdb itself reads: microvolts, lead names and rate (channels with a file)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        base = os.path.join(tmp, header[: -len(".hea")])
        names = wfdb.rdheader(base).file_name
        record = wfdb.rdrecord(base, channels=[i for i, n in enumerate(names) if n in files])
    uv = np.vstack([record.p_signal[:, i] * unit_factor(u) for i, u in enumerate(record.units)])
    return uv, list(record.sig_name), float(record.fs)


def assert_same_as_wfdb(files: dict[str, bytes], header: str) -> None:
    ours = read_record(files, filename=header)
    samples, names, rate = wfdb_reads(files, header)
    assert list(ours.leads) == [lead_name(name) for name in names]
    assert ours.sampling_rate == rate
    assert ours.samples.shape == samples.shape
    assert np.array_equal(ours.samples, samples)


# --- real records and wfdb's own files ------------------------------------------------------


def _real(record: str, *, without: tuple[str, ...] = ()) -> dict[str, bytes]:
    paths = sorted(REAL_DATA.glob(f"{record}.*"))
    return {
        p.name: p.read_bytes()
        for p in paths
        if p.suffix in (".hea", ".dat", ".xyz") and p.suffix not in without
    }


@pytest.mark.parametrize(
    ("record", "without"),
    [("100", ()), ("s0010_re", ()), ("s0010_re", (".xyz",))],
    ids=["mitbih-100-format-212", "ptb-s0010_re-15-leads", "ptb-s0010_re-without-xyz"],
)
def test_physionet_records_read_as_wfdb_reads_them(record, without) -> None:
    assert_same_as_wfdb(_real(record, without=without), f"{record}.hea")


def test_the_header_fields_equal_wfdbs() -> None:
    for record in ("100", "s0010_re"):
        theirs = wfdb.rdheader(str(REAL_DATA / record))
        ours = parse_header((REAL_DATA / f"{record}.hea").read_bytes())
        assert ours.sampling_rate == theirs.fs and ours.sig_len == theirs.sig_len
        assert list(ours.comments) == theirs.comments
        for i, spec in enumerate(ours.signals):
            assert spec.file_name == theirs.file_name[i] and spec.fmt == theirs.fmt[i]
            assert spec.gain == theirs.adc_gain[i] and spec.baseline == theirs.baseline[i]
            assert spec.units == theirs.units[i] and spec.description == theirs.sig_name[i]
            assert spec.byte_offset == (theirs.byte_offset[i] or 0)
            assert spec.init_value == theirs.init_value[i]


@pytest.mark.parametrize("fmt", ["80", "16", "212", "24", "32"])
def test_records_wfdb_writes_read_alike(fmt) -> None:
    record = sf.synthetic(seed=4)[0]
    assert_same_as_wfdb(sf.wfdb_files(record, name="cart", fmt=fmt), "cart.hea")


def test_a_date_and_time_are_kept_as_wfdb_gives_them() -> None:
    files = sf.wfdb_files(sf.synthetic(seed=5)[0], name="r")
    first, rest = files["r.hea"].split(b"\n", 1)
    files["r.hea"] = first + b" 13:05:07.25 31/12/2024\n" + rest
    header = parse_header(files["r.hea"])
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "r.hea").write_bytes(files["r.hea"])
        theirs = wfdb.rdheader(os.path.join(tmp, "r"))
    assert (header.base_date, header.base_time) == (theirs.base_date, theirs.base_time)
    assert header.base_time == datetime.time(13, 5, 7, 250000)
    ours = read_record(files, filename="r.hea")
    assert ours.meta["acquired"] == "2024-12-31 13:05:07.250000"


# --- formats wfdb cannot write, packed by hand ---------------------------------------------


def _pack(fmt: str, values: np.ndarray) -> bytes:
    """Digital samples (frame after frame) in storage format ``fmt``, bit by bit."""
    v = [int(x) for x in values]
    if fmt == "61":
        return b"".join(x.to_bytes(2, "big", signed=True) for x in v)
    if fmt == "160":
        return b"".join((x + 32768).to_bytes(2, "little") for x in v)
    if fmt == "8":
        return bytes(x & 0xFF for x in v)  # already differences
    if fmt == "212":
        v = v + [0] * (len(v) % 2)
        out = bytearray()
        for a, b in zip(v[0::2], v[1::2], strict=True):
            a, b = a & 0xFFF, b & 0xFFF
            out += bytes([a & 0xFF, (a >> 8) | ((b >> 8) << 4), b & 0xFF])
        return bytes(out)
    if fmt in ("310", "311"):
        v = v + [0] * (-len(v) % 3)
        out = bytearray()
        for a, b, c in zip(v[0::3], v[1::3], v[2::3], strict=True):
            a, b, c = a & 0x3FF, b & 0x3FF, c & 0x3FF
            if fmt == "310":
                w0 = (a << 1) | ((c & 0x1F) << 11)
                w1 = (b << 1) | ((c >> 5) << 11)
                out += w0.to_bytes(2, "little") + w1.to_bytes(2, "little")
            else:
                out += (a | b << 10 | c << 20).to_bytes(4, "little")
        return bytes(out)
    raise AssertionError(fmt)


_RANGE = {"8": 40, "61": 30000, "160": 30000, "212": 2000, "310": 500, "311": 500}


def _hand_made(fmt: str, n: int, *, spec: str = "", header_len: bool = True) -> dict[str, bytes]:
    rng = np.random.default_rng(int(fmt) + n)
    high = _RANGE[fmt]
    digital = rng.integers(-high, high, size=n * len(LEADS))
    lines = [f"hand {len(LEADS)} 500" + (f" {n}" if header_len else "")]
    for k, lead in enumerate(LEADS):
        lines.append(f"hand.dat {fmt}{spec} {100 + 50 * k}({k - 1})/mV 12 0 {7 * k} 0 0 {lead}")
    return {"hand.hea": ("\n".join(lines) + "\n").encode(), "hand.dat": _pack(fmt, digital)}


@pytest.mark.parametrize("fmt", ["8", "61", "160", "212", "310", "311"])
@pytest.mark.parametrize("n", [1500, 1501, 1502])
def test_hand_packed_formats_read_as_wfdb_reads_them(fmt, n) -> None:
    assert_same_as_wfdb(_hand_made(fmt, n), "hand.hea")


def test_without_a_length_the_file_size_tells_as_in_wfdb() -> None:
    files = _hand_made("160", 1600, header_len=False)
    assert read_record(files, filename="hand.hea").n_samples == 1600
    assert_same_as_wfdb(files, "hand.hea")


def _mixed(skew: int = 0) -> tuple[dict[str, bytes], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 1500
    # a.dat: I at 2 samples per frame and II, after a 64-byte preamble; b.dat: V1.
    a = rng.integers(-3000, 3000, size=(n, 3))
    b = rng.integers(-3000, 3000, size=n)
    header = (
        f"mix 3 500 {n}\n"
        "a.dat 16x2+64 200(3)/mV 16 0 0 0 0 I\n"
        "a.dat 16+64 0/uV 16 0 0 0 0 II\n"
        f"b.dat 61{f':{skew}' if skew else ''} 1000/mV 16 0 0 0 0 V1\n"
    ).encode()
    files = {
        "mix.hea": header,
        "a.dat": bytes(64) + a.reshape(-1).astype("<i2").tobytes(),
        "b.dat": _pack("61", b),
    }
    return files, a, b


def test_byte_offset_several_samples_per_frame_and_two_files() -> None:
    files, a, b = _mixed()
    assert_same_as_wfdb(files, "mix.hea")
    ours = read_record(files, filename="mix.hea")
    # I: the frame's two samples averaged to a whole digital value, as wfdb does.
    assert ours.samples[0, 0] == pytest.approx((int((a[0, 0] + a[0, 1]) / 2) - 3) / 200 * 1000)
    assert ours.samples[1, 0] == pytest.approx(a[0, 2] / 200)  # gain 0: the default 200
    assert ours.samples[2, 0] == pytest.approx(b[0])


def test_a_skewed_signal_starts_later_and_runs_past_the_record_as_in_wfdb() -> None:
    from telemed.ecg.signal.readers import wfdb_format

    files, _a, b = _mixed(skew=4)
    theirs = wfdb_reads(files, "mix.hea")[0]
    header = parse_header(files["mix.hea"])
    (second,) = [f for f in wfdb_format._signal_files(header, files) if f.name == "b.dat"]
    ours = wfdb_format._read_file(header, second, files["b.dat"], 1500)[2] * 1000
    assert np.array_equal(ours, theirs[2], equal_nan=True)
    assert ours[0] == pytest.approx(b[4]) and np.isnan(ours[-4:]).all()
    # The record as a whole is refused for the samples past its end, as before.
    _refused(files, "mix.hea", says="not numbers")


# --- what is refused --------------------------------------------------------------------------


def _refused(files: dict[str, bytes], header: str, says: str) -> None:
    with pytest.raises(EcgFormatError) as caught:
        read_record(files, filename=header)
    assert caught.value.status == 422
    assert says.lower() in caught.value.message.lower()


def test_an_invalid_sample_is_refused_where_wfdb_reads_nan() -> None:
    files = sf.wfdb_files(sf.synthetic(seed=6)[0], name="r")
    data = bytearray(files["r.dat"])
    data[24:26] = (-32768).to_bytes(2, "little", signed=True)
    files["r.dat"] = bytes(data)
    assert np.isnan(wfdb_reads(files, "r.hea")[0]).sum() == 1
    _refused(files, "r.hea", says="not numbers")


def test_a_multi_segment_header_is_refused() -> None:
    files = {"m.hea": b"m/2 2 360 1000\nm_1 500\nm_2 500\n", "m_1.dat": bytes(10)}
    _refused(files, "m.hea", says="multi-segment")


def test_fewer_signal_lines_than_announced_are_refused() -> None:
    files = sf.wfdb_files(sf.synthetic(seed=6)[0], name="r")
    files["r.hea"] = b"\n".join(files["r.hea"].split(b"\n")[:5])
    _refused(files, "r.hea", says="signal lines")


def test_a_file_short_of_its_header_is_truncated_in_every_packed_format() -> None:
    for fmt in ("212", "310", "311"):
        files = _hand_made(fmt, 1500)  # whole groups: the last byte holds a sample
        files["hand.dat"] = files["hand.dat"][:-1]
        _refused(files, "hand.hea", says="truncated")


def test_signals_of_one_file_in_two_formats_are_refused() -> None:
    files = _hand_made("160", 1500)
    files["hand.hea"] = files["hand.hea"].replace(b"hand.dat 160 ", b"hand.dat 16 ", 1)
    _refused(files, "hand.hea", says="different formats")


_HEADER_TEXT = st.lists(
    st.one_of(
        st.text(alphabet="0123456789 ./:+x()-eE#abcdmVu~\t", max_size=60),
        st.sampled_from(["r 1 500 1500", "r.dat 16 200/mV", "r.dat 212x2:1+3 0(5)/uV 12 0 0"]),
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(lines=_HEADER_TEXT)
def test_any_header_text_reads_or_is_refused_with_a_reason(lines) -> None:
    files = {"r.hea": "\n".join(lines).encode(), "r.dat": bytes(range(256)) * 20}
    try:
        record = read_record(files, filename="r.hea")
    except EcgFormatError as error:
        assert error.message
    else:
        assert np.isfinite(record.samples).all()
