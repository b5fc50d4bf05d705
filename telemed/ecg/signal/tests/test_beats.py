"""The detection front end equals neurokit2's own: ``beats.clean`` against ``nk.ecg_clean``
and ``beats.detect_r_peaks`` against ``nk.ecg_peaks``, on real and synthetic leads at the
rates that arrive (MIT-BIH's 360 Hz, PTB's 1000 Hz, carts' 250 and 500 Hz)."""

from __future__ import annotations

import warnings
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest
from scipy import signal as sps

from telemed.ecg.signal import beats
from telemed.ecg.signal.readers import read_path
from telemed.ecg.tests import signal_fixtures as sf

REAL_DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "ecg"


def _leads() -> list[tuple[str, np.ndarray, float]]:
    out = []
    for name in ("100", "s0010_re"):
        record = read_path(REAL_DATA / f"{name}.hea")
        stretch = record.samples[:, : int(20 * record.sampling_rate)]
        out += [
            (f"{name}:{lead}", stretch[i], record.sampling_rate)
            for i, lead in enumerate(record.leads[:3])
        ]
    for rate in (250.0, 500.0, 1000.0):
        record = sf.synthetic(rate=rate, noise_uv=40.0, seed=int(rate))[0]
        out.append((f"synthetic {rate:g} Hz", record.lead("II"), rate))
        # Mains hum and baseline wander, what the cleaning is for.
        t = np.arange(record.n_samples) / rate
        noisy = (
            record.lead("V2") + 80 * np.sin(2 * np.pi * 50 * t) + 400 * np.sin(2 * np.pi * 0.2 * t)
        )
        out.append((f"noisy {rate:g} Hz", noisy, rate))
    return out


LEADS = _leads()


@pytest.mark.parametrize(("label", "lead", "rate"), LEADS, ids=[x[0] for x in LEADS])
def test_clean_equals_neurokit(label, lead, rate) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = nk.ecg_clean(lead, sampling_rate=round(rate), method="neurokit")
    ours = beats.clean(lead, rate)
    assert np.array_equal(ours, theirs), np.max(np.abs(ours - theirs))


@pytest.mark.parametrize(("label", "lead", "rate"), LEADS, ids=[x[0] for x in LEADS])
def test_detection_equals_neurokit(label, lead, rate) -> None:
    cleaned = beats.clean(lead, rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.ecg_peaks(cleaned, sampling_rate=round(rate), correct_artifacts=False)
    assert np.array_equal(beats.detect_r_peaks(cleaned, rate), np.unique(info["ECG_R_Peaks"]))


def test_the_high_pass_is_designed_once_per_rate() -> None:
    beats._clean_sos.cache_clear()
    for _ in range(3):
        beats.clean(np.zeros(5000), 500.0)
    assert beats._clean_sos.cache_info().misses == 1
    expected = sps.butter(5, 0.5, btype="highpass", fs=500, output="sos")
    assert np.array_equal(beats._clean_sos(500), expected)
