"""CSV: one column per lead, one row per sample.

The layout accepted (and written by the carts' export we document for clinics)::

    # sampling_rate=500
    # unit=uV
    I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6
    12,35,23,-24,-5,29,-8,40,51,60,48,33
    ...

- The rate is either a ``# sampling_rate=HZ`` line before the header or a first column
  named ``time`` (seconds from the start, evenly spaced); with both, they must agree.
- ``# unit=`` is ``uV`` (the default) or ``mV``.
- The delimiter is a comma, a semicolon or a tab, as the header row uses.
"""

from __future__ import annotations

import csv
import io

import numpy as np
from django.utils.translation import gettext as _

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers.common import build_record, unit_factor
from telemed.ecg.signal.record import EcgRecord

_TIME_COLUMNS = {"time", "time_s", "t"}


def read_csv(content: bytes) -> EcgRecord:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EcgFormatError(_("The CSV file is not UTF-8 text.")) from None
    if "\x00" in text:
        raise EcgFormatError(_("The CSV file is not UTF-8 text."))
    lines = text.splitlines()
    settings: dict[str, str] = {}
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        key, _sep, value = lines[start].lstrip("#").partition("=")
        if value:
            settings[key.strip().lower()] = value.strip()
        start += 1
    if start >= len(lines):
        raise EcgFormatError(_("The CSV file has no header row of lead names."))
    delimiter = max((",", ";", "\t"), key=lines[start].count)
    rows = csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter)
    header = [name.strip() for name in next(rows)]
    if any(not name or _is_number(name) for name in header):
        raise EcgFormatError(_("The CSV file has no header row of lead names."))
    values: list[list[float]] = []
    for number, row in enumerate(rows, start=start + 2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise EcgFormatError(
                _("Row %(row)d of the CSV file has %(found)d values for %(expected)d columns.")
                % {"row": number, "found": len(row), "expected": len(header)},
                details={"row": number},
            )
        try:
            values.append([float(cell) for cell in row])
        except ValueError:
            raise EcgFormatError(
                _("Row %(row)d of the CSV file holds a value that is not a number.")
                % {"row": number},
                details={"row": number},
            ) from None
    data = np.array(values, dtype=float).reshape(-1, len(header)).T
    rate = _rate(settings, header, data)
    if header[0].lower() in _TIME_COLUMNS:
        header, data = header[1:], data[1:]
    factor = unit_factor(settings.get("unit", "uV"), lead=",".join(header)[:40])
    return build_record(
        sampling_rate=rate,
        leads=header,
        channels=list(data * factor),
        source_format="csv",
    )


def _rate(settings: dict[str, str], header: list[str], data: np.ndarray) -> float:
    stated = None
    if "sampling_rate" in settings:
        try:
            stated = float(settings["sampling_rate"])
        except ValueError:
            raise EcgFormatError(_("The CSV sampling_rate line does not hold a number.")) from None
    if header[0].lower() not in _TIME_COLUMNS:
        if stated is None:
            raise EcgFormatError(
                _(
                    "The CSV file states no sampling rate: add a '# sampling_rate=500' line "
                    "or a first column 'time' in seconds."
                )
            )
        return stated
    times = data[0]
    steps = np.diff(times)
    if steps.size == 0 or not np.all(np.isfinite(steps)) or steps.min() <= 0:
        raise EcgFormatError(_("The CSV time column does not increase evenly."))
    step = float(np.median(steps))
    if np.abs(steps - step).max() > 0.01 * step + 1e-6:
        raise EcgFormatError(_("The CSV time column does not increase evenly."))
    derived = 1.0 / step
    if stated is not None and abs(stated - derived) > 0.01 * stated:
        raise EcgFormatError(_("The CSV sampling_rate line and its time column disagree."))
    return stated if stated is not None else round(derived, 3)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
