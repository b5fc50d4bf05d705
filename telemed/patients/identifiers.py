"""The resident identity card number (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2
check character, with the birth date in positions 7-14."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise(value: str) -> str:
    return value.strip().upper()


def problem_with(value: str, birth_date: dt.date | None = None) -> str | None:
    """Why ``value`` is not a valid resident ID number, or None when it is."""
    if not _SHAPE.match(value):
        return "must be 17 digits followed by a digit or X"
    if check_character(value[:17]) != value[17]:
        return "check character does not match"
    try:
        encoded = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "does not encode a valid birth date"
    if birth_date is not None and encoded != birth_date:
        return "birth date encoded in the number differs from the date of birth"
    return None


def make(area_code: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid number (for synthetic demo patients)."""
    first17 = f"{area_code[:6]:0<6}{birth_date:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)
