"""Intervals, frontal axis and ST level, from the median beats of one record."""

from __future__ import annotations

import math

import numpy as np

from telemed.ecg.signal.record import EcgRecord

#: Plausible bounds (ms); a value outside them is a delineation miss, not a finding.
BOUNDS = {"pr": (60.0, 400.0), "qrs": (40.0, 250.0), "qt": (200.0, 700.0)}
#: Contiguous lead pairs for ST elevation: limb leads in the Cabrera sequence, then the
#: precordial neighbours.
CONTIGUOUS = (
    ("aVL", "I"),
    ("I", "-aVR"),
    ("-aVR", "II"),
    ("II", "aVF"),
    ("aVF", "III"),
    ("V1", "V2"),
    ("V2", "V3"),
    ("V3", "V4"),
    ("V4", "V5"),
    ("V5", "V6"),
)
#: ST elevation at J+60 ms that counts, in uV: 0.1 mV in every lead but V2-V3, where the
#: universal definition of myocardial infarction asks 0.15-0.25 mV by sex and age; neither
#: is known here, so the lowest (0.15 mV) is used, preferring an alarm to a miss.
ST_THRESHOLD_UV = 100.0
ST_THRESHOLD_V2_V3_UV = 150.0
ST_AFTER_J_S = 0.06


def interval_ms(start: int | None, stop: int | None, rate: float, kind: str) -> float | None:
    """``stop - start`` in ms, or None when a boundary is missing or the value implausible."""
    if start is None or stop is None:
        return None
    value = (stop - start) * 1000.0 / rate
    low, high = BOUNDS[kind]
    return round(value, 1) if low <= value <= high else None


def frontal_axis(
    record: EcgRecord, median: np.ndarray, r_at: int, qrs: tuple[int, int]
) -> float | None:
    """QRS axis in degrees (-180..180] from the net QRS area in I and aVF.

    aVF is derived from II and III (or I and II) when the record lacks it, by Einthoven's
    and Goldberger's relations; None without two limb leads.
    """
    area = {}
    start, stop = qrs
    for name in ("I", "II", "III", "aVF"):
        if record.has_lead(name):
            area[name] = float(median[record.leads.index(name), start:stop].sum())
    lead_i = area.get("I")
    avf = area.get("aVF")
    if lead_i is None and "II" in area and "III" in area:
        lead_i = area["II"] - area["III"]
    if avf is None and "II" in area and "III" in area:
        avf = (area["II"] + area["III"]) / 2.0
    if avf is None and lead_i is not None and "II" in area:
        avf = area["II"] - lead_i / 2.0
    if lead_i is None or avf is None or (abs(lead_i) + abs(avf)) < 1e-6:
        return None
    return round(math.degrees(math.atan2(avf, lead_i)), 1)


def st_elevation(
    record: EcgRecord, median: np.ndarray, j_point: int, rate: float, quality: dict[str, float]
) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """ST level at J+60 ms per lead (uV) and the contiguous pairs both over the threshold.

    Leads of poor quality (< 0.5) are not counted: their ST level is noise.
    """
    at = j_point + round(ST_AFTER_J_S * rate)
    levels: dict[str, float] = {}
    if at >= median.shape[1]:
        return levels, []
    for index, name in enumerate(record.leads):
        levels[name] = float(median[index, at])
    if "aVR" in levels:
        levels["-aVR"] = -levels["aVR"]
        quality = {**quality, "-aVR": quality.get("aVR", 0.0)}

    def elevated(name: str) -> bool:
        threshold = ST_THRESHOLD_V2_V3_UV if name in ("V2", "V3") else ST_THRESHOLD_UV
        return name in levels and quality.get(name, 0.0) >= 0.5 and levels[name] >= threshold

    pairs = [(a, b) for a, b in CONTIGUOUS if elevated(a) and elevated(b)]
    levels.pop("-aVR", None)
    return {k: round(v, 1) for k, v in levels.items()}, pairs
