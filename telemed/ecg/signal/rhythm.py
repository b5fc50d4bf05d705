"""Rate, rhythm and pauses from the R peaks and the P waves of the analysed lead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telemed.ecg.signal import codes

#: An RR interval longer than this is a pause (a statement); longer than the critical
#: limit, a flag.
PAUSE_S = 2.0
CRITICAL_PAUSE_S = 3.0
LOW_RATE_CRITICAL = 40.0
HIGH_RATE_CRITICAL = 150.0
#: Irregularity: beat-to-beat variation (RMSSD) and overall spread (CV) of the RR intervals,
#: both relative to the mean RR. Atrial fibrillation typically shows both above 0.15;
#: respiratory sinus arrhythmia raises the CV but leaves successive differences small.
IRREGULAR_NRMSSD = 0.10
IRREGULAR_CV = 0.08
MIN_RR_FOR_REGULARITY = 4
#: A P wave counts as present when the median beat shows one of at least this amplitude,
#: the beats agree with it and it stands out of their differences (see p_waves_present).
P_MIN_UV = 30.0
P_MIN_CONSISTENCY = 0.85
P_MIN_SNR = 1.5


@dataclass(frozen=True)
class Rhythm:
    heart_rate_bpm: float | None
    rr_ms: float | None
    rhythm: str
    pauses_s: tuple[float, ...]
    irregular: bool
    p_waves: bool


def p_waves_present(lead_windows: np.ndarray, qrs_on: int, rate: float) -> bool:
    """Whether the beats (beats, window) of one lead carry a P wave locked to the QRS.

    The 280 ms before the QRS onset (index ``qrs_on``), each beat's segment detrended, are
    compared with their median: a P wave is as tall as ``P_MIN_UV``, every beat agrees
    with it (median correlation ``P_MIN_CONSISTENCY``) and it stands out of the beat-to-beat
    residual (``P_MIN_SNR``). Fibrillatory waves and the previous T wave, which move
    against the QRS from beat to beat, fail the last two. On synthetic atrial fibrillation
    (f waves 20-100 uV, 30 records) the agreement stayed under 0.76 and the ratio under
    1.0; sinus beats with up to 60 uV of noise scored over 0.9 and 2.1.
    """
    if lead_windows.shape[0] < 3:
        return False
    start = max(0, qrs_on - int(0.30 * rate))
    stop = qrs_on - int(0.02 * rate)
    segment = _detrended(lead_windows[:, start:stop])
    template = np.median(segment, axis=0)
    if np.ptp(template) < P_MIN_UV:
        return False
    norm = float(np.linalg.norm(template)) + 1e-12
    agreement = np.median(segment @ template / (np.linalg.norm(segment, axis=1) * norm + 1e-12))
    residual = np.median(np.linalg.norm(segment - template, axis=1)) + 1e-12
    return bool(agreement >= P_MIN_CONSISTENCY and norm / residual >= P_MIN_SNR)


def _detrended(rows: np.ndarray) -> np.ndarray:
    # A straight slope (baseline drift, the previous T wave's tail) is not a P wave.
    x = np.arange(rows.shape[1], dtype=float)
    design = np.vstack([x, np.ones_like(x)]).T
    coefficients, *_ = np.linalg.lstsq(design, rows.T, rcond=None)
    return rows - (design @ coefficients).T


def classify(peaks: np.ndarray, rate: float, p_waves: bool, n_samples: int = 0) -> Rhythm:
    """Heart rate (from the mean RR), the rhythm code and the pauses.

    Pauses are the RR intervals over ``PAUSE_S``, and also a stretch longer than
    ``CRITICAL_PAUSE_S`` without a beat before the first or after the last one (given
    ``n_samples``, the record's length): the record may stop before the pause does, and
    asystole at the end of a strip must not pass unflagged. Such an edge pause is a lower
    bound of the real one.
    """
    if peaks.size < 2:
        return Rhythm(None, None, codes.UNDETERMINED_RHYTHM, (), False, p_waves)
    rr = np.diff(peaks) / rate
    mean_rr = float(rr.mean())
    # Classified on the rounded rate that is shown, so "60.0 bpm" is never bradycardia.
    heart_rate = round(60.0 / mean_rr, 1)
    edges = [peaks[0] / rate, (n_samples - 1 - peaks[-1]) / rate] if n_samples else []
    found = [float(x) for x in rr[rr > PAUSE_S]]
    found += [float(x) for x in edges if x > CRITICAL_PAUSE_S]
    pauses = tuple(round(x, 2) for x in found)
    irregular = False
    if rr.size >= MIN_RR_FOR_REGULARITY:
        usual = rr[rr <= PAUSE_S] if (rr <= PAUSE_S).sum() >= MIN_RR_FOR_REGULARITY else rr
        nrmssd = float(np.sqrt(np.mean(np.diff(usual) ** 2)) / usual.mean())
        cv = float(usual.std() / usual.mean())
        irregular = nrmssd > IRREGULAR_NRMSSD and cv > IRREGULAR_CV
    if irregular:
        rhythm = codes.IRREGULAR_RHYTHM if p_waves else codes.IRREGULAR_POSSIBLE_AF
    elif not p_waves:
        rhythm = codes.NON_SINUS_RHYTHM
    elif heart_rate < 60.0:
        rhythm = codes.SINUS_BRADYCARDIA
    elif heart_rate > 100.0:
        rhythm = codes.SINUS_TACHYCARDIA
    else:
        rhythm = codes.SINUS_RHYTHM
    return Rhythm(
        heart_rate_bpm=heart_rate,
        rr_ms=round(mean_rr * 1000.0, 1),
        rhythm=rhythm,
        pauses_s=pauses,
        irregular=irregular,
        p_waves=p_waves,
    )
