"""Beat detection, per-beat windows, median beats and per-lead signal quality (numpy)."""

from __future__ import annotations

import functools
import warnings

import neurokit2 as nk
import numpy as np
from scipy import signal as sps

#: The R-peak detector, chosen by the figures of ``bench/ecg_signal.py``: on MIT-BIH 100
#: (150 ms window) it scores Se 99.87% / +P 100% on both leads; on 18 synthetic records
#: at 35-175 bpm with up to 150 uV of noise Se 100% / +P 99.3%, where the next best
#: (martinez2004, pantompkins1985, hamilton2002) fall to +P 96-98% and rodrigues2021, the
#: only one at 100% on MLII, to 86%.
PEAK_METHOD = "neurokit"
#: Long leads are cleaned and searched in chunks of this length, with this much overlap.
CHUNK_S = 300.0
OVERLAP_S = 5.0
#: Records up to this long are band-passed whole; longer ones only around the beats used,
#: with this much context on each side.
WHOLE_FILTER_S = 120.0
PAD_S = 3.0
#: Window of a median beat around its R peak, seconds before and after.
BEFORE_S = 0.35
AFTER_S = 0.55


#: neurokit2's "neurokit" cleaning: a 5th-order Butterworth high-pass at 0.5 Hz, then a
#: moving average one mains period long (50 Hz: 20 ms), each forwards and backwards.
CLEAN_HIGHPASS_HZ = 0.5
CLEAN_ORDER = 5
MAINS_HZ = 50


@functools.lru_cache(maxsize=32)
def _clean_sos(rate: int) -> np.ndarray:
    return sps.butter(CLEAN_ORDER, CLEAN_HIGHPASS_HZ, btype="highpass", fs=rate, output="sos")


def clean(lead_uv: np.ndarray, rate: float) -> np.ndarray:
    """The lead cleaned for detection, as ``nk.ecg_clean(method="neurokit")`` cleans it.

    The same two filters with the same scipy calls, but the high-pass designed once per
    rate: neurokit2 designs it again on every call, which took longer than the filtering
    itself (3.5 ms of CPU per 10 s lead against 1.1 ms here). ``test_beats`` checks that
    the output equals neurokit2's.
    """
    fs = round(rate)
    high_passed = sps.sosfiltfilt(_clean_sos(fs), np.asarray(lead_uv, dtype=float))
    width = int(fs / MAINS_HZ) if fs >= 100 else 2
    return np.asarray(sps.filtfilt(np.ones(width), [width], high_passed, method="pad"))


def detect_r_peaks(cleaned: np.ndarray, rate: float) -> np.ndarray:
    """R-peak sample indices, sorted and unique.

    ``ecg_findpeaks`` is what ``ecg_peaks`` runs (without artefact correction) before it
    builds a full-length table of the peaks that this never reads.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = nk.ecg_findpeaks(cleaned, sampling_rate=round(rate), method=PEAK_METHOD)
    peaks = np.unique(np.asarray(info["ECG_R_Peaks"], dtype=np.int64))
    return peaks[(peaks >= 0) & (peaks < cleaned.size)]


def find_r_peaks(lead_uv: np.ndarray, rate: float) -> np.ndarray:
    """Clean and detect on one lead; a long record in chunks of ``CHUNK_S``.

    neurokit2 keeps several full-length copies of a signal while it works (a 5-hour Holter
    lead took 0.7 GB), so a long lead is processed in chunks, each with ``OVERLAP_S`` of
    context on both sides and keeping only the beats of its own stretch; a beat found at
    the seam by both neighbours is kept once (peaks closer than the 200 ms refractory
    period are one beat).
    """
    n = lead_uv.size
    chunk = int(CHUNK_S * rate)
    overlap = int(OVERLAP_S * rate)
    if n <= chunk + overlap:
        return detect_r_peaks(clean(lead_uv, rate), rate)
    found = []
    for start in range(0, n, chunk):
        lo, hi = max(0, start - overlap), min(n, start + chunk + overlap)
        peaks = detect_r_peaks(clean(lead_uv[lo:hi], rate), rate) + lo
        found.append(peaks[(peaks >= start) & (peaks < start + chunk)])
    peaks = np.concatenate(found)
    if peaks.size < 2:
        return peaks
    keep = np.concatenate([[True], np.diff(peaks) >= 0.2 * rate])
    return peaks[keep]


@functools.lru_cache(maxsize=32)
def _band_sos(rate: float) -> np.ndarray:
    # 0.5-40 Hz, applied forwards and backwards (zero phase): the 0.5 Hz edge removes
    # baseline wander without the phase shift that would distort the ST segment (zero-phase
    # high-pass filters up to 0.67 Hz are what diagnostic ECG standards allow); 40 Hz keeps
    # the QRS slopes and drops mains and muscle noise.
    return sps.butter(2, [0.5, min(40.0, rate * 0.45)], btype="band", fs=rate, output="sos")


def beat_windows(
    samples: np.ndarray, peaks: np.ndarray, rate: float
) -> tuple[np.ndarray, int, np.ndarray]:
    """Windows (leads, beats, window) around each R peak that fits, the R offset in them,
    and the peaks that fitted (those the windows are cut around).

    The record is band-passed first (0.5-40 Hz, zero phase) and each window has its own
    PR-segment level removed, so baseline wander does not smear the median beat.
    """
    before = round(BEFORE_S * rate)
    after = round(AFTER_S * rate)
    usable = peaks[(peaks - before >= 0) & (peaks + after < samples.shape[1])]
    if usable.size == 0:
        return np.empty((samples.shape[0], 0, before + after)), before, usable
    sos = _band_sos(float(rate))
    pad = round(PAD_S * rate)
    if samples.shape[1] <= WHOLE_FILTER_S * rate:
        smoothed = sps.sosfiltfilt(sos, samples, axis=1)
        index = usable[:, None] + np.arange(-before, after)[None, :]
        windows = smoothed[:, index]
    else:
        # A long record: filter only the stretches around the beats used, each with
        # PAD_S of context for the filter to settle, instead of hours of samples.
        start = np.clip(usable - before - pad, 0, None)
        stop = np.clip(usable + after + pad, None, samples.shape[1])
        windows = np.empty((samples.shape[0], usable.size, before + after))
        for k, (lo, hi, peak) in enumerate(zip(start, stop, usable, strict=True)):
            stretch = sps.sosfiltfilt(sos, samples[:, lo:hi], axis=1)
            windows[:, k, :] = stretch[:, peak - before - lo : peak + after - lo]
    windows -= _baseline(windows, before, rate)[..., None]
    return windows, before, usable


def median_beats(windows: np.ndarray, r_at: int, rate: float) -> np.ndarray:
    """Median beat per lead (leads, window), baseline at zero before the QRS."""
    if windows.shape[1] == 0:
        return np.zeros((windows.shape[0], windows.shape[2]))
    median = np.median(windows, axis=1)
    return median - _baseline(median, r_at, rate)[:, None]


def rebaseline(median: np.ndarray, qrs_on: int, rate: float) -> np.ndarray:
    """The median beats with their level at the PQ junction (the 20 ms before the QRS onset)
    set to zero: the isoelectric reference for ST measurement."""
    start = max(0, qrs_on - int(0.02 * rate))
    stop = max(start + 1, qrs_on - int(0.004 * rate))
    return median - median[:, start:stop].mean(axis=1, keepdims=True)


def _baseline(beat: np.ndarray, r_at: int, rate: float) -> np.ndarray:
    # The isoelectric level is taken 40-80 ms before the R peak's onset region, i.e. the
    # PR segment: a robust, simple stand-in for the PQ junction.
    start = max(0, r_at - int(0.12 * rate))
    stop = max(start + 1, r_at - int(0.07 * rate))
    return np.median(beat[..., start:stop], axis=-1)


def lead_quality(
    samples: np.ndarray, windows: np.ndarray, r_at: int, rate: float, rr_s: float = 1.0
) -> np.ndarray:
    """Signal quality per lead in 0..1: the lesser of two scores.

    - Agreement: the median correlation of each beat with the lead's median beat (the idea
      behind neurokit2's "averageQRS" index, computed for all leads at once).
    - Sharpness: the share of the median beat's slope energy within 60 ms of the R peak,
      out of one RR interval (``rr_s``) around it, mapped from 0.3 (0) to 0.6 (1). Beats cut around maxima of pure noise agree with
      each other fairly well (they were aligned on a hump), but their median is a broad
      hump; a real QRS carries most of the slope energy of a beat.

    A flat lead (under 20 uV peak to peak: disconnected) or one sitting on its rails
    (clipped) scores 0.
    """
    n_leads = samples.shape[0]
    if windows.shape[1] < 2:
        return np.zeros(n_leads)
    centred = windows - windows.mean(axis=2, keepdims=True)
    template = np.median(centred, axis=1, keepdims=True)
    numerator = (centred * template).sum(axis=2)
    denominator = np.sqrt((centred**2).sum(axis=2) * (template**2).sum(axis=2)) + 1e-12
    agreement = np.clip(np.median(numerator / denominator, axis=1), 0.0, 1.0)
    slope = np.diff(template[:, 0, :], axis=1) ** 2
    beat = slope[:, max(0, r_at - int(0.4 * rr_s * rate)) : r_at + int(0.6 * rr_s * rate)]
    half = max(1, int(0.06 * rate))
    core = slope[:, max(0, r_at - half) : r_at + half].sum(axis=1)
    share = core / (beat.sum(axis=1) + 1e-12)
    sharpness = np.clip((share - 0.3) / 0.3, 0.0, 1.0)
    quality = np.minimum(agreement, sharpness)
    quality[np.ptp(samples, axis=1) < 20.0] = 0.0
    quality[_clipped_fraction(samples) > 0.05] = 0.0
    return quality


def _clipped_fraction(samples: np.ndarray) -> np.ndarray:
    # A saturated amplifier sits on its rail for many consecutive samples.
    top = samples >= samples.max(axis=1, keepdims=True) - 1e-9
    bottom = samples <= samples.min(axis=1, keepdims=True) + 1e-9
    return (top | bottom).mean(axis=1)
