"""Accuracy of the automated analysis on real records and on records with known answers.

Real data, read in place from ``../shared/data/ecg/``: MIT-BIH Arrhythmia Database record
100 with its cardiologist beat annotations (Moody & Mark 2001) and PTB Diagnostic ECG
Database record s0010_re (Bousseljot et al. 1995), both from PhysioNet (Goldberger et al.
2000). QRS detection is scored with ``wfdb.processing.compare_annotations`` and a 150 ms
match window, counting beat annotations only.
"""

from __future__ import annotations

import numpy as np
import pytest
import wfdb
from wfdb import processing

from telemed.ecg.signal import codes
from telemed.ecg.signal.analysis import Analysis, analyze
from telemed.ecg.signal.readers import read_path
from telemed.ecg.signal.record import STANDARD_LEADS
from telemed.ecg.tests.signal_fixtures import REAL_DATA, synthetic

#: Beat annotation symbols of the MIT-BIH database (rhythm changes "+", comments '"', and
#: signal-quality marks "~", "|" are not beats).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def within(value: float | None, low: float, high: float) -> bool:
    return value is not None and low <= value <= high


@pytest.fixture(scope="module")
def record_100() -> tuple[Analysis, np.ndarray, float]:
    record = read_path(REAL_DATA / "100.hea")
    annotations = wfdb.rdann(str(REAL_DATA / "100"), "atr")
    reference = np.array(
        [
            s
            for s, sym in zip(annotations.sample, annotations.symbol, strict=True)
            if sym in BEAT_SYMBOLS
        ]
    )
    return analyze(record), reference, record.sampling_rate


def test_qrs_detection_on_mitbih_100_meets_the_target(record_100) -> None:
    analysis, reference, rate = record_100
    assert analysis.analysed_lead == "MLII"
    score = processing.compare_annotations(reference, np.array(analysis.beats), int(0.150 * rate))
    assert score.sensitivity >= 0.995
    assert score.positive_predictivity >= 0.995


def test_mitbih_100_is_measured_as_sinus_rhythm(record_100) -> None:
    analysis = record_100[0]
    assert analysis.measurable
    assert analysis.rhythm == codes.SINUS_RHYTHM
    assert within(analysis.heart_rate_bpm, 70, 80)  # 2,273 beats in 30:05
    assert not analysis.critical
    assert within(analysis.qrs_ms, 60, 110)


def test_ptb_s0010_reads_twelve_standard_leads_with_sane_measurements() -> None:
    record = read_path(REAL_DATA / "s0010_re.hea")
    assert record.sampling_rate == 1000.0
    assert set(STANDARD_LEADS) <= set(record.leads)
    assert record.duration_s == pytest.approx(38.4)
    # Microvolts: the R waves of a 12-lead are hundreds of uV, not fractions of a mV.
    assert 300 < np.ptp(record.lead("V2")) < 5000
    analysis = analyze(record)
    assert analysis.measurable
    assert analysis.analysed_lead == "II"
    assert within(analysis.heart_rate_bpm, 50, 110)
    assert within(analysis.pr_ms, 100, 240)
    assert within(analysis.qrs_ms, 70, 170)
    assert within(analysis.qt_ms, 320, 500)
    assert within(analysis.qtc_bazett_ms, 330, 540)
    assert analysis.axis_deg is not None
    assert min(analysis.lead_quality[name] for name in STANDARD_LEADS) > 0.9


@pytest.mark.parametrize(
    ("heart_rate", "pr", "qrs", "qt", "axis"),
    [
        (60, 160, 90, 400, 50),
        (75, 200, 110, 380, -45),
        (110, 140, 80, 320, 100),
        (50, 240, 140, 460, 10),
    ],
)
def test_intervals_and_axis_match_a_record_built_with_them(heart_rate, pr, qrs, qt, axis) -> None:
    record, truth = synthetic(
        heart_rate=heart_rate, pr_ms=pr, qrs_ms=qrs, qt_ms=qt, axis_deg=axis, noise_uv=10
    )
    analysis = analyze(record)
    assert analysis.measurable
    assert analysis.heart_rate_bpm == pytest.approx(heart_rate, abs=1.5)
    assert analysis.pr_ms == pytest.approx(pr, abs=20)
    assert analysis.qrs_ms == pytest.approx(qrs, abs=16)
    assert analysis.qt_ms == pytest.approx(qt, abs=20)
    assert analysis.axis_deg == pytest.approx(axis, abs=8)
    detected = np.array(analysis.beats)
    assert all(np.min(np.abs(detected - peak)) <= 0.05 * 500 for peak in truth.r_peaks)
