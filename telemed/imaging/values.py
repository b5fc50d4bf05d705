"""Lenient readings of DICOM values for the index: a malformed optional value becomes
empty (None) instead of refusing an otherwise sound object."""

from __future__ import annotations

import datetime as dt


def dicom_date(value: object) -> dt.date | None:
    """A DA value (YYYYMMDD) as a date, or None."""
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def dicom_int(value: object) -> int | None:
    """An IS/US value as an int, or None."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
