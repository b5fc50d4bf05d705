"""ECG signal: QRS detection accuracy, delineation accuracy and analysis time.

- QRS detection on MIT-BIH Arrhythmia Database record 100 (Moody & Mark 2001) against its
  beat annotations (``100.atr``, beat symbols only) with ``wfdb.processing.compare_annotations``
  and a 150 ms window: sensitivity and positive predictivity of every neurokit2 detector
  tried, on both leads, beside the peer the issue names (Pan & Tompkins 1985, published
  99.3% on the whole database) as ratios. Also on known-answer synthetic records at rates
  of 35-175 bpm with noise, where the beat positions are exact.
- Delineation: PR, QRS and QT against synthetic records built with known boundaries, for
  the median-beat delineator in use and neurokit2's four delineators on lead II.
- Time of ``analyze`` on a 10 s 12-lead record at 500 Hz (PTB Diagnostic ECG Database
  record s0010_re, Bousseljot et al. 1995, resampled), p50 and p99 over ``RUNS`` runs, how
  it splits between the steps, and neurokit2's own ``ecg_process`` + ``dwt`` delineation of
  one lead as the peer.

Records read in place from ``../shared/data/ecg/`` (PhysioNet, Goldberger et al. 2000).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

RUNS = 50
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ecg"
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")
DETECTORS = (
    "neurokit",
    "pantompkins1985",
    "hamilton2002",
    "elgendi2010",
    "rodrigues2021",
    "martinez2004",
    "nabian2018",
)
PAN_TOMPKINS_PUBLISHED = 0.993


def run() -> dict[str, Any]:
    warnings.simplefilter("ignore")
    return {
        "qrs_detection_mitbih_100": _qrs_detection(),
        "qrs_detection_synthetic": _qrs_synthetic(),
        "delineation_synthetic_mae_ms": _delineation(),
        "analysis_time_12lead_10s_500hz": _timing(),
    }


def _score(reference: np.ndarray, found: np.ndarray, rate: float) -> tuple[float, float]:
    from wfdb import processing

    if found.size == 0:
        return 0.0, 0.0
    score = processing.compare_annotations(reference, found, int(0.150 * rate))
    return float(score.sensitivity), float(score.positive_predictivity)


def _qrs_detection() -> dict[str, Any]:
    import neurokit2 as nk
    import wfdb

    from telemed.ecg.signal import beats
    from telemed.ecg.signal.analysis import analyze
    from telemed.ecg.signal.readers import read_path

    record = read_path(DATA / "100.hea")
    notes = wfdb.rdann(str(DATA / "100"), "atr")
    reference = np.array(
        [s for s, sym in zip(notes.sample, notes.symbol, strict=True) if sym in BEAT_SYMBOLS]
    )
    rate = record.sampling_rate
    start = time.perf_counter()
    analysis = analyze(record)
    analyse_s = time.perf_counter() - start
    se, ppv = _score(reference, np.array(analysis.beats), rate)
    # The longest record the size limit lets in: about 5 hours of 2 leads in format 212.
    from telemed.ecg.signal.readers.common import build_record

    holter = build_record(
        sampling_rate=rate,
        leads=record.leads,
        channels=list(np.tile(record.samples, 10)),
        source_format="wfdb",
    )
    start = time.perf_counter()
    analyze(holter)
    holter_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "window_ms": 150,
        "reference_beats": int(reference.size),
        "in_use": {
            "detector": beats.PEAK_METHOD,
            "lead": analysis.analysed_lead,
            "sensitivity": round(se, 5),
            "positive_predictivity": round(ppv, 5),
            "ratio_se_to_pan_tompkins_published": round(se / PAN_TOMPKINS_PUBLISHED, 4),
            "ratio_ppv_to_pan_tompkins_published": round(ppv / PAN_TOMPKINS_PUBLISHED, 4),
            "analyze_30min_s": round(analyse_s, 3),
            "analyze_5h_2lead_s": round(holter_s, 3),
        },
        "detectors": {},
    }
    for lead in record.leads:
        cleaned = beats.clean(record.lead(lead), rate)
        for method in DETECTORS:
            try:
                t0 = time.perf_counter()
                _, info = nk.ecg_peaks(cleaned, sampling_rate=int(rate), method=method)
                seconds = time.perf_counter() - t0
                found = np.asarray(info["ECG_R_Peaks"], dtype=int)
                se, ppv = _score(reference, found, rate)
                out["detectors"][f"{method}/{lead}"] = {
                    "sensitivity": round(se, 5),
                    "positive_predictivity": round(ppv, 5),
                    "seconds": round(seconds, 3),
                }
            except Exception as exc:  # a detector failing is a figure too
                out["detectors"][f"{method}/{lead}"] = {"error": type(exc).__name__}
    return out


def _qrs_synthetic() -> dict[str, Any]:
    import neurokit2 as nk

    from telemed.ecg.signal import beats
    from telemed.ecg.tests.signal_fixtures import synthetic

    cases = []
    rng = np.random.default_rng(11)
    for heart_rate in (35, 50, 70, 100, 140, 175):
        for noise in (5.0, 60.0, 150.0):
            qt = min(420.0, 60000.0 / heart_rate * 0.55)
            record, known = synthetic(
                heart_rate=heart_rate,
                qt_ms=qt,
                pr_ms=min(160.0, 60000.0 / heart_rate * 0.3),
                noise_uv=noise,
                duration_s=20.0,
                seed=int(rng.integers(1 << 30)),
            )
            cases.append((record, np.array(known.r_peaks)))
    out: dict[str, Any] = {}
    for method in DETECTORS:
        hits = truths = found_total = 0
        try:
            for record, truth in cases:
                cleaned = beats.clean(record.lead("II"), record.sampling_rate)
                _, info = nk.ecg_peaks(cleaned, sampling_rate=500, method=method)
                found = np.asarray(info["ECG_R_Peaks"], dtype=int)
                se, _ppv = _score(truth, found, 500.0)
                hits += round(se * truth.size)
                truths += truth.size
                found_total += found.size
        except Exception as exc:
            out[method] = {"error": type(exc).__name__}
            continue
        out[method] = {
            "records": len(cases),
            "sensitivity": round(hits / truths, 5),
            "positive_predictivity": round(hits / max(found_total, 1), 5),
        }
    return out


def _pair(points: Any, peaks: np.ndarray, before: float, after: float) -> np.ndarray:
    values = np.asarray([p for p in points if np.isfinite(p)], dtype=float)
    out = np.full(peaks.size, np.nan)
    for index, peak in enumerate(peaks):
        near = values[(values < peak) & (values >= peak - before)] if before else None
        if before and near is not None and near.size:
            out[index] = near.max()
        if after:
            near = values[(values > peak) & (values <= peak + after)]
            if near.size:
                out[index] = near.min()
    return out


def _delineation() -> dict[str, Any]:
    import neurokit2 as nk

    from telemed.ecg.signal import beats
    from telemed.ecg.signal.analysis import analyze
    from telemed.ecg.tests.signal_fixtures import synthetic

    rng = np.random.default_rng(5)
    cases = []
    for seed in range(16):
        heart_rate = float(rng.uniform(50, 110))
        cases.append(
            synthetic(
                heart_rate=heart_rate,
                pr_ms=float(rng.uniform(120, 220)),
                qrs_ms=float(rng.uniform(80, 140)),
                qt_ms=float(rng.uniform(340, 440)),
                axis_deg=float(rng.uniform(-20, 80)),
                noise_uv=float(rng.uniform(0, 30)),
                seed=seed,
            )
        )
    errors: dict[str, dict[str, list[float]]] = {}

    def note(method: str, kind: str, value: float | None, truth: float) -> None:
        bucket = errors.setdefault(method, {"pr": [], "qrs": [], "qt": [], "missed": []})
        if value is None or not np.isfinite(value):
            bucket["missed"].append(1.0)
        else:
            bucket[kind].append(abs(value - truth))

    for record, truth in cases:
        analysis = analyze(record)
        for kind, value, expected in (
            ("pr", analysis.pr_ms, truth.pr_ms),
            ("qrs", analysis.qrs_ms, truth.qrs_ms),
            ("qt", analysis.qt_ms, truth.qt_ms),
        ):
            note("median_beat (in use)", kind, value, expected)
        lead = record.lead("II")
        cleaned = beats.clean(lead, 500.0)
        peaks = beats.detect_r_peaks(cleaned, 500.0)
        for method in ("dwt", "cwt", "peak", "prominence"):
            try:
                _, waves = nk.ecg_delineate(lead, peaks, sampling_rate=500, method=method)
            except Exception:
                for kind in ("pr", "qrs", "qt"):
                    note(f"neurokit2 {method}", kind, None, 0.0)
                continue
            on = _pair(waves.get("ECG_R_Onsets", []), peaks, 75, 0)
            p_on = _pair(waves.get("ECG_P_Onsets", []), peaks, 200, 0)
            off = _pair(waves.get("ECG_R_Offsets", []), peaks, 0, 100)
            t_off = _pair(waves.get("ECG_T_Offsets", []), peaks, 0, 350)

            def median_ms(a: np.ndarray, b: np.ndarray) -> float | None:
                span = (b - a)[np.isfinite(b - a)]
                return float(np.median(span)) * 2.0 if span.size else None

            note(f"neurokit2 {method}", "pr", median_ms(p_on, on), truth.pr_ms)
            note(f"neurokit2 {method}", "qrs", median_ms(on, off), truth.qrs_ms)
            note(f"neurokit2 {method}", "qt", median_ms(on, t_off), truth.qt_ms)
    return {
        method: {
            **{
                k: round(float(np.mean(v)), 1) if v else None for k, v in b.items() if k != "missed"
            },
            "missed": int(sum(b["missed"])),
            "records": len(cases),
        }
        for method, b in errors.items()
    }


def _timing() -> dict[str, Any]:
    import neurokit2 as nk
    from scipy import signal as sps

    from telemed.ecg.signal import beats, delineate, rhythm
    from telemed.ecg.signal.analysis import analyze
    from telemed.ecg.signal.readers import read_path
    from telemed.ecg.signal.readers.common import build_record
    from telemed.ecg.signal.record import STANDARD_LEADS

    ptb = read_path(DATA / "s0010_re.hea")
    ten_s = ptb.samples[[ptb.leads.index(n) for n in STANDARD_LEADS], :10_000]
    record = build_record(
        sampling_rate=500.0,
        leads=STANDARD_LEADS,
        channels=list(sps.resample_poly(ten_s, 1, 2, axis=1)),
        source_format="wfdb",
    )
    analyze(record)  # warm caches (filter design, imports)
    totals = []
    for _ in range(RUNS):
        start = time.perf_counter()
        analyze(record)
        totals.append(time.perf_counter() - start)
    rate = record.sampling_rate
    steps: dict[str, list[float]] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args)
        steps.setdefault(name, []).append(time.perf_counter() - start)
        return result

    def delineation(windows: np.ndarray, r_at: int) -> None:
        median = beats.median_beats(windows, r_at, rate)
        on, off = delineate.qrs_bounds(median, r_at, rate)
        median = beats.rebaseline(median, on, rate)
        rhythm.p_waves_present(windows[1], on, rate)
        end = delineate.t_end(median, off, r_at, rate, 0.75)
        delineate.p_onset(median, on, rate, end)

    lead = record.lead("II")
    for _ in range(RUNS):
        cleaned = timed("clean lead II (neurokit2's filters)", beats.clean, lead, rate)
        peaks = timed("R peaks (neurokit2)", beats.detect_r_peaks, cleaned, rate)
        windows, r_at, _used = timed(
            "band-pass 12 leads + cut beats", beats.beat_windows, record.samples, peaks, rate
        )
        timed("quality 12 leads", beats.lead_quality, record.samples, windows, r_at, rate)
        timed("median beats + delineation + P waves", delineation, windows, r_at)
    peer = []
    for _ in range(min(RUNS, 20)):
        start = time.perf_counter()
        signals, info = nk.ecg_process(lead, sampling_rate=500)
        nk.ecg_delineate(signals["ECG_Clean"], info["ECG_R_Peaks"], sampling_rate=500)
        peer.append(time.perf_counter() - start)
    p50 = float(np.percentile(totals, 50))
    step_p50 = {k: round(float(np.median(v)) * 1000, 2) for k, v in steps.items()}
    # The rest: the lead choice's own quality check, axis, ST levels, assembling the result.
    step_p50["rest of analyze"] = round(p50 * 1000 - sum(step_p50.values()), 2)
    return {
        "runs": RUNS,
        "record": "PTB s0010_re, first 10 s, 12 leads resampled to 500 Hz",
        "p50_ms": round(p50 * 1000, 2),
        "p99_ms": round(float(np.percentile(totals, 99)) * 1000, 2),
        "goal_p50_ms": 50,
        "steps_p50_ms": step_p50,
        "peer_neurokit2_process_and_dwt_one_lead_p50_ms": round(float(np.median(peer)) * 1000, 2),
        "ratio_peer_over_ours_p50": round(float(np.median(peer)) / p50, 2),
    }
