"""The WFDB header (``.hea``) of a single-segment record, parsed in plain Python.

Our own parser rather than ``wfdb.rdheader``: that one goes through pandas for every field
of every signal line, ~15 ms for a 12-lead header, and the intake read it twice (once to
choose the channels, once inside ``rdrecord``). The grammar is PhysioNet's header(5):

    record line:  NAME[/SEGMENTS] N_SIG [FS[/COUNTER[(BASE)]] [SIG_LEN [TIME [DATE]]]]
    signal line:  FILE FMT[xSPF][:SKEW][+OFFSET] [GAIN[(BASELINE)][/UNITS] [ADC_RES [ADC_ZERO
                  [INIT_VALUE [CHECKSUM [BLOCK_SIZE [DESCRIPTION]]]]]]]

and lines starting with ``#`` are comments. Defaults are those of the WFDB library: rate
250 Hz, gain 200 (also for a gain of 0, "uncalibrated"), baseline the ADC zero, units mV,
initial value the ADC zero. ``telemed/ecg/signal/tests/test_wfdb_reader.py`` checks that the
fields equal ``wfdb.rdheader``'s on the PhysioNet records and wfdb-written ones.

Only what the reader uses is kept. Every refusal is a ``HeaderError`` with a short reason
in English (the reader puts it in its translated sentence).
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

#: A header longer than this is not an ECG's (a 32-lead header is ~2 kB).
MAX_HEADER_BYTES = 256 * 1024
#: More signal lines than this are refused before any is parsed (the reader keeps 32 leads).
MAX_SIGNALS = 256

_FORMAT = re.compile(r"(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?")
_GAIN = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\((-?\d+)\))?(?:/(\S*))?")
_RATE = re.compile(r"(\d+\.?\d*|\.\d+)(?:/[-+]?[\d.eE+-]*(?:\([-+]?[\d.eE+-]*\))?)?")
_INT = re.compile(r"[-+]?\d+")
_TIME = re.compile(r"(?:(?:(\d{1,2}):)?(\d{1,2}):)?(\d{1,2})(?:\.(\d{1,6}))?")
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{1,4})")


class HeaderError(ValueError):
    """The header does not follow the grammar; ``str()`` says where and why."""


@dataclass(frozen=True)
class SignalSpec:
    file_name: str
    fmt: str
    samples_per_frame: int
    skew: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    adc_zero: int
    init_value: int
    description: str


@dataclass(frozen=True)
class WfdbHeader:
    record_name: str
    sampling_rate: float
    sig_len: int | None  # None: not given, the signal file's size tells
    base_time: datetime.time | None
    base_date: datetime.date | None
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...]


def parse_header(data: bytes) -> WfdbHeader:
    if len(data) > MAX_HEADER_BYTES:
        raise HeaderError(f"the header is larger than {MAX_HEADER_BYTES} bytes")
    if b"\x00" in data:
        raise HeaderError("the header is not text")
    # WFDB headers are ASCII; a cart's comment in another script is kept as far as it decodes.
    text = data.decode("utf-8", errors="replace")
    lines: list[str] = []
    comments: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line.strip(" \t#"))
        elif line:
            lines.append(line)
    if not lines:
        raise HeaderError("the header has no record line")
    name, n_sig, rate, sig_len, base_time, base_date = _record_line(lines[0])
    if n_sig > MAX_SIGNALS:
        raise HeaderError(f"the record line announces {n_sig} signals")
    if len(lines) - 1 != n_sig:
        raise HeaderError(
            f"the record line announces {n_sig} signals but {len(lines) - 1} signal lines follow"
        )
    signals = tuple(_signal_line(line, number) for number, line in enumerate(lines[1:], 2))
    return WfdbHeader(
        record_name=name,
        sampling_rate=rate,
        sig_len=sig_len,
        base_time=base_time,
        base_date=base_date,
        signals=signals,
        comments=tuple(comments),
    )


def _record_line(
    line: str,
) -> tuple[str, int, float, int | None, datetime.time | None, datetime.date | None]:
    fields = line.split()
    if len(fields) < 2:
        raise HeaderError("the record line has no number of signals")
    if len(fields) > 6:
        raise HeaderError(
            "the record line has more fields than name, signals, rate, length, time and date"
        )
    name = fields[0]
    if "/" in name:
        raise HeaderError("multi-segment records are not supported")
    if not re.fullmatch(r"[-\w]+", name):
        raise HeaderError("the record name is not valid")
    n_sig = _whole(fields[1], "number of signals", line=1, minimum=0)
    rate = 250.0
    if len(fields) > 2:
        match = _RATE.fullmatch(fields[2])
        if match is None:
            raise HeaderError(f"line 1: the sampling frequency {fields[2][:20]!r} is not a number")
        rate = float(match.group(1))
        if not math.isfinite(rate):
            raise HeaderError("line 1: the sampling frequency is not a number")
    sig_len = _whole(fields[3], "number of samples", line=1, minimum=0) if len(fields) > 3 else None
    base_time = _time(fields[4]) if len(fields) > 4 else None
    base_date = _date(fields[5]) if len(fields) > 5 else None
    return name, n_sig, rate, sig_len, base_time, base_date


def _signal_line(line: str, number: int) -> SignalSpec:
    # The description is the rest of the line after the eighth field, spaces included.
    fields = line.split(None, 8)
    if len(fields) < 2:
        raise HeaderError(f"line {number}: a signal line needs a file name and a format")
    file_name = fields[0]
    match = _FORMAT.fullmatch(fields[1])
    if match is None:
        raise HeaderError(f"line {number}: the format field {fields[1][:20]!r} is not valid")
    fmt, spf, skew, offset = match.groups()
    gain, baseline, units = 200.0, None, "mV"
    if len(fields) > 2:
        gain_match = _GAIN.fullmatch(fields[2])
        if gain_match is None:
            raise HeaderError(f"line {number}: the gain field {fields[2][:20]!r} is not valid")
        gain = float(gain_match.group(1))
        if not math.isfinite(gain):
            raise HeaderError(f"line {number}: the gain is not a number")
        if gain == 0:
            gain = 200.0  # "uncalibrated": WFDB's default gain
        if gain_match.group(2) is not None:
            baseline = int(gain_match.group(2))
        if gain_match.group(3):
            units = gain_match.group(3)
    numbers: list[int | None] = [None] * len(_COLUMNS)
    for position, text in enumerate(fields[3:8]):
        numbers[position] = _whole(text, _COLUMNS[position], line=number)
    _adc_res, adc_zero, init_value, _checksum, _block_size = numbers
    zero = adc_zero if adc_zero is not None else 0
    return SignalSpec(
        file_name=file_name,
        fmt=str(int(fmt)),
        samples_per_frame=int(spf) if spf else 1,
        skew=int(skew) if skew else 0,
        byte_offset=int(offset) if offset else 0,
        gain=gain,
        baseline=baseline if baseline is not None else zero,
        units=units,
        adc_zero=zero,
        init_value=init_value if init_value is not None else zero,
        description=fields[8].strip() if len(fields) > 8 else "",
    )


_COLUMNS = ("ADC resolution", "ADC zero", "initial value", "checksum", "block size")


def _whole(text: str, what: str, *, line: int, minimum: int | None = None) -> int:
    if _INT.fullmatch(text) is None or len(text) > 20:
        raise HeaderError(f"line {line}: the {what} {text[:20]!r} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise HeaderError(f"line {line}: the {what} is negative")
    return value


def _time(text: str) -> datetime.time:
    match = _TIME.fullmatch(text)
    if match is None:
        raise HeaderError(f"line 1: the base time {text[:20]!r} is not HH:MM:SS")
    hours, minutes, seconds, fraction = match.groups()
    try:
        return datetime.time(
            int(hours or 0),
            int(minutes or 0),
            int(seconds),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise HeaderError(f"line 1: the base time {text[:20]!r} is not a time of day") from None


def _date(text: str) -> datetime.date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise HeaderError(f"line 1: the base date {text[:20]!r} is not DD/MM/YYYY")
    day, month, year = (int(part) for part in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise HeaderError(f"line 1: the base date {text[:20]!r} is not a date") from None
