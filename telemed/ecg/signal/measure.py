"""Intervals (neurokit2 delineation), frontal axis and ST level, from one record's beats."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import neurokit2 as nk
import numpy as np

from telemed.ecg.signal.record import EcgRecord

#: Delineation runs on at most this much of the analysed lead: intervals are a property of
#: a representative stretch, and the wavelet delineator's cost grows with the length.
DELINEATION_WINDOW_S = 10.0
#: Plausible bounds (ms); a per-beat value outside them is a delineation miss, not a finding.
_BOUNDS = {"pr": (60.0, 400.0), "qrs": (40.0, 250.0), "qt": (200.0, 700.0)}
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


@dataclass(frozen=True)
class Intervals:
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    p_found: float  # fraction of beats with a delineated P wave
    qrs_onset_s: float | None  # median QRS onset before the R peak
    qrs_offset_s: float | None  # median J point after the R peak


def intervals(cleaned: np.ndarray, peaks: np.ndarray, rate: float) -> Intervals:
    """Median PR, QRS and QT over the beats of the first ``DELINEATION_WINDOW_S`` seconds.

    Uses neurokit2's wavelet delineator (``dwt``); raises whatever it raises (the caller
    turns that into an unmeasurable analysis).
    """
    stop = int(DELINEATION_WINDOW_S * rate)
    if cleaned.size > stop * 1.5:
        cleaned = cleaned[:stop]
        peaks = peaks[peaks < stop]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, waves = nk.ecg_delineate(
            cleaned, peaks, sampling_rate=round(rate), method="dwt", check=False
        )

    def points(name: str) -> np.ndarray:
        values = np.asarray(waves.get(name, []), dtype=float)
        if values.size != peaks.size:
            return np.full(peaks.size, np.nan)
        return values

    p_on, r_on, r_off, t_off = (
        points(k) for k in ("ECG_P_Onsets", "ECG_R_Onsets", "ECG_R_Offsets", "ECG_T_Offsets")
    )
    ms = 1000.0 / rate
    r = peaks.astype(float)
    return Intervals(
        pr_ms=_median_within((r_on - p_on) * ms, "pr"),
        qrs_ms=_median_within((r_off - r_on) * ms, "qrs"),
        qt_ms=_median_within((t_off - r_on) * ms, "qt"),
        p_found=float(np.mean(np.isfinite(points("ECG_P_Peaks")))) if peaks.size else 0.0,
        qrs_onset_s=_median_positive((r - r_on) / rate, 0.2),
        qrs_offset_s=_median_positive((r_off - r) / rate, 0.2),
    )


def _median_within(values: np.ndarray, kind: str) -> float | None:
    low, high = _BOUNDS[kind]
    ok = values[np.isfinite(values) & (values >= low) & (values <= high)]
    # Half the beats at least must agree before a value is reported.
    if ok.size == 0 or ok.size < 0.5 * np.isfinite(values).sum():
        return None
    return round(float(np.median(ok)), 1)


def _median_positive(values: np.ndarray, limit: float) -> float | None:
    ok = values[np.isfinite(values) & (values > 0) & (values < limit)]
    return float(np.median(ok)) if ok.size else None


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
