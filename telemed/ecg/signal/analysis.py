"""Automated measurements of one ECG record, before any expert sees it.

``analyze(record)`` never raises on a bad signal: a record too noisy to measure, or one on
which neurokit2 fails, comes back with ``measurable=False``, a ``reason`` and the statement
``measurements_unavailable``. The result is deterministic for a given record.

Steps: pick the analysed lead (II, else MLII, I, V5, ... the first of good quality),
clean it and detect R peaks on it (neurokit2), cut every lead into beats around those
peaks (0.5-40 Hz zero-phase band-pass) and take median beats (numpy), score each lead's
quality, delineate the median beats of the good leads together (``delineate.py``, which
says why not neurokit2's delineators) for PR, QRS and QT, then derive rate, rhythm,
pauses, axis, ST level at J+60 ms and the critical flags. A 10 s 12-lead record at
500 Hz takes ~13 ms p50 on the shared 2-core machine (``bench/ecg_signal.py``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import signal as sps

from telemed.ecg.signal import beats, codes, delineate, measure, rhythm
from telemed.ecg.signal.record import EcgRecord

logger = logging.getLogger(__name__)

#: Leads tried for beat detection, in order (II is the usual rhythm lead; MLII is its
#: Holter cousin in MIT-BIH).
PREFERRED_LEADS = ("II", "MLII", "I", "V5", "V2", "aVF", "V6", "III", "V1", "V4", "V3", "aVL")
#: At most this many leads are tried before settling for the best seen.
MAX_TRIES = 3
#: A lead is measurable at this quality (median beat correlation) or above.
MEASURABLE_QUALITY = 0.6
GOOD_QUALITY = 0.8
#: Leads at this quality or above take part in the median-beat delineation and ST.
LEAD_USABLE = 0.5
#: Intervals need no finer grain than 1 ms; faster records are decimated for the analysis.
MAX_ANALYSIS_RATE_HZ = 1000.0
#: Median beats and quality use an evenly spread subset of at most this many beats.
MAX_TEMPLATE_BEATS = 120
#: QTc above this (ms) is a "prolonged QTc" statement; PR and QRS limits likewise.
LONG_QTC_MS = 470.0
LONG_PR_MS = 200.0
SHORT_PR_MS = 120.0
WIDE_QRS_MS = 120.0


@dataclass(frozen=True)
class Analysis:
    """The measurements; every ``*_ms``/``*_deg`` value is None when it could not be found.

    ``rhythm`` is one code of ``codes.RHYTHMS``; ``statements`` are further findings
    (``codes.STATEMENTS``); ``flags`` the critical ones (``codes.FLAGS``), and ``critical``
    is true when there is any. ``beats`` are R-peak sample indices on ``analysed_lead``.
    When ``measurable`` is false, ``reason_code`` (``codes.REASONS``, labelled for people)
    says why and ``reason`` gives the detail in English (for the log and the expert).
    """

    heart_rate_bpm: float | None = None
    rr_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_bazett_ms: float | None = None
    qtc_fridericia_ms: float | None = None
    axis_deg: float | None = None
    rhythm: str = codes.UNDETERMINED_RHYTHM
    statements: tuple[str, ...] = ()
    pauses_s: tuple[float, ...] = ()
    lead_quality: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    critical: bool = False
    measurable: bool = True
    reason: str = ""
    reason_code: str = ""
    beats: tuple[int, ...] = ()
    analysed_lead: str = ""
    st_level_uv: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (tuples as lists, plain floats and ints)."""
        data = asdict(self)
        for key in ("statements", "pauses_s", "flags", "beats"):
            data[key] = list(data[key])
        return data


def analyze(record: EcgRecord) -> Analysis:
    """Measure ``record``; see the module docstring. Never raises on signal content.

    Records sampled above ``MAX_ANALYSIS_RATE_HZ`` are measured on a decimated copy; their
    ``beats`` are still indices into the record's own samples (to within the decimation
    step).
    """
    try:
        step = math.ceil(record.sampling_rate / MAX_ANALYSIS_RATE_HZ)
        if step <= 1:
            return _analyze(record)
        working = replace(
            record,
            sampling_rate=record.sampling_rate / step,
            samples=sps.resample_poly(record.samples, 1, step, axis=1),
        )
        result = _analyze(working)
        return replace(result, beats=tuple(b * step for b in result.beats))
    except Exception as exc:  # neurokit2 and scipy raise anything on degenerate signals
        logger.warning("ECG analysis failed on a %s record", record.source_format, exc_info=True)
        return unmeasurable(
            codes.ANALYSIS_FAILED, f"analysis failed: {type(exc).__name__}: {exc}"[:300]
        )


def unmeasurable(reason_code: str, reason: str, **known: Any) -> Analysis:
    return Analysis(
        measurable=False,
        reason=reason,
        reason_code=reason_code,
        statements=(codes.MEASUREMENTS_UNAVAILABLE,),
        rhythm=codes.UNDETERMINED_RHYTHM,
        **known,
    )


def _analyze(record: EcgRecord) -> Analysis:
    rate = record.sampling_rate
    lead_name, peaks, quality = _choose_lead(record)
    lead_index = record.leads.index(lead_name)
    if peaks.size < 2:
        return unmeasurable(
            codes.NO_BEATS,
            "fewer than two beats found",
            analysed_lead=lead_name,
            lead_quality=_rounded(record, quality),
            beats=tuple(int(p) for p in peaks),
        )
    subset = _spread(peaks, MAX_TEMPLATE_BEATS)
    windows, r_at, _used = beats.beat_windows(record.samples, subset, rate)
    typical_rr_s = float(np.median(np.diff(peaks))) / rate
    quality = beats.lead_quality(record.samples, windows, r_at, rate, typical_rr_s)
    lead_quality = _rounded(record, quality)
    if quality[lead_index] < MEASURABLE_QUALITY:
        return unmeasurable(
            codes.TOO_NOISY,
            f"signal too noisy to measure (quality {quality[lead_index]:.2f} on lead {lead_name})",
            # No beats: what a detector finds in noise is not beats, and a viewer marking
            # them would mislead.
            analysed_lead=lead_name,
            lead_quality=lead_quality,
        )
    good = quality >= LEAD_USABLE
    good[lead_index] = True
    median = beats.median_beats(windows, r_at, rate)
    qrs_on, qrs_off = delineate.qrs_bounds(median[good], r_at, rate)
    median = beats.rebaseline(median, qrs_on, rate)
    p_waves = rhythm.p_waves_present(windows[lead_index], qrs_on, rate)
    rhy = rhythm.classify(peaks, rate, p_waves, record.n_samples)
    rr_s = (rhy.rr_ms or 1000.0) / 1000.0
    t_end = delineate.t_end(median[good], qrs_off, r_at, rate, rr_s)
    earliest = t_end - int(rr_s * rate) if t_end is not None else None
    p_on = delineate.p_onset(median[good], qrs_on, rate, earliest) if p_waves else None
    pr_ms = measure.interval_ms(p_on, qrs_on, rate, "pr")
    qrs_ms = measure.interval_ms(qrs_on, qrs_off, rate, "qrs")
    qt_ms = measure.interval_ms(qrs_on, t_end, rate, "qt")
    qtc_b = qtc_f = None
    if qt_ms is not None and rhy.rr_ms:
        qtc_b = round(qt_ms / math.sqrt(rr_s), 1)
        qtc_f = round(qt_ms / rr_s ** (1.0 / 3.0), 1)
    axis = measure.frontal_axis(record, median, r_at, (qrs_on, qrs_off))
    st_levels, st_pairs = measure.st_elevation(record, median, qrs_off, rate, lead_quality)

    statements: list[str] = []
    flags: list[str] = []
    if rhy.pauses_s:
        statements.append(codes.PAUSE)
    if pr_ms is not None and pr_ms > LONG_PR_MS:
        statements.append(codes.PROLONGED_PR)
    if pr_ms is not None and pr_ms < SHORT_PR_MS:
        statements.append(codes.SHORT_PR)
    if qrs_ms is not None and qrs_ms >= WIDE_QRS_MS:
        statements.append(codes.WIDE_QRS)
    if qtc_b is not None and qtc_b > LONG_QTC_MS:
        statements.append(codes.PROLONGED_QTC)
    if axis is not None:
        statements.extend(_axis_statement(axis))
    if st_pairs:
        statements.append(codes.SUSPECTED_ST_ELEVATION)
        flags.append(codes.SUSPECTED_ST_ELEVATION)
    if any(q < 0.5 for q in lead_quality.values()):
        statements.append(codes.LOW_SIGNAL_QUALITY)
    if rhy.heart_rate_bpm is not None and rhy.heart_rate_bpm < rhythm.LOW_RATE_CRITICAL:
        flags.append(codes.LOW_RATE_CRITICAL)
    if rhy.heart_rate_bpm is not None and rhy.heart_rate_bpm > rhythm.HIGH_RATE_CRITICAL:
        flags.append(codes.HIGH_RATE_CRITICAL)
    if any(p > rhythm.CRITICAL_PAUSE_S for p in rhy.pauses_s):
        flags.append(codes.LONG_PAUSE_CRITICAL)
    return Analysis(
        heart_rate_bpm=rhy.heart_rate_bpm,
        rr_ms=rhy.rr_ms,
        pr_ms=pr_ms,
        qrs_ms=qrs_ms,
        qt_ms=qt_ms,
        qtc_bazett_ms=qtc_b,
        qtc_fridericia_ms=qtc_f,
        axis_deg=axis,
        rhythm=rhy.rhythm,
        statements=tuple(statements),
        pauses_s=rhy.pauses_s,
        lead_quality=lead_quality,
        flags=tuple(flags),
        critical=bool(flags),
        measurable=True,
        beats=tuple(int(p) for p in peaks),
        analysed_lead=lead_name,
        st_level_uv=st_levels,
    )


def _choose_lead(record: EcgRecord) -> tuple[str, np.ndarray, np.ndarray]:
    """The lead to detect beats on: the first preferred lead of good quality, judged on its
    own beats; after ``MAX_TRIES`` leads, the best of those tried."""
    order = [n for n in PREFERRED_LEADS if record.has_lead(n)]
    order += [n for n in record.leads if n not in order]
    best: tuple[float, str, np.ndarray, np.ndarray] | None = None
    for name in order[:MAX_TRIES]:
        index = record.leads.index(name)
        peaks = beats.find_r_peaks(record.samples[index], record.sampling_rate)
        own = record.samples[index : index + 1]
        windows, r_at, _used = beats.beat_windows(
            own, _spread(peaks, MAX_TEMPLATE_BEATS), record.sampling_rate
        )
        rr_s = float(np.median(np.diff(peaks))) / record.sampling_rate if peaks.size > 1 else 1.0
        score = float(beats.lead_quality(own, windows, r_at, record.sampling_rate, rr_s)[0])
        quality = np.zeros(len(record.leads))
        quality[index] = score
        if best is None or score > best[0]:
            best = (score, name, peaks, quality)
        if score >= GOOD_QUALITY:
            break
    assert best is not None  # a record always has a lead
    return best[1], best[2], best[3]


def _spread(peaks: np.ndarray, limit: int) -> np.ndarray:
    if peaks.size <= limit:
        return peaks
    return peaks[np.linspace(0, peaks.size - 1, limit).round().astype(int)]


def _rounded(record: EcgRecord, quality: np.ndarray) -> dict[str, float]:
    return {name: round(float(q), 2) for name, q in zip(record.leads, quality, strict=True)}


def _axis_statement(axis: float) -> list[str]:
    if -90.0 <= axis < -30.0:
        return [codes.LEFT_AXIS_DEVIATION]
    if 90.0 < axis <= 180.0:
        return [codes.RIGHT_AXIS_DEVIATION]
    if -180.0 < axis < -90.0:
        return [codes.EXTREME_AXIS]
    return []
