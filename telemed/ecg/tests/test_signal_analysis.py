"""Rhythm, pauses, critical flags, signal quality and robustness of ``analyze``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemed.ecg.signal import beats, codes
from telemed.ecg.signal.analysis import analyze
from telemed.ecg.signal.readers.common import build_record
from telemed.ecg.tests.signal_fixtures import simulated, synthetic


def _noise(amplitude: float, seed: int, leads: tuple[str, ...] = ("II", "V5")):
    rng = np.random.default_rng(seed)
    return build_record(
        sampling_rate=500,
        leads=leads,
        channels=list(rng.normal(0.0, amplitude, (len(leads), 5000))),
        source_format="csv",
    )


@pytest.mark.parametrize(
    ("heart_rate", "rhythm"),
    [
        (72, codes.SINUS_RHYTHM),
        (60, codes.SINUS_RHYTHM),
        (48, codes.SINUS_BRADYCARDIA),
        (125, codes.SINUS_TACHYCARDIA),
    ],
)
def test_sinus_rhythms_by_rate(heart_rate, rhythm) -> None:
    record, _ = synthetic(heart_rate=heart_rate, qt_ms=min(400, 60000 / heart_rate * 0.6))
    analysis = analyze(record)
    assert analysis.rhythm == rhythm
    assert not analysis.critical


@pytest.mark.parametrize("seed", [1, 3, 4, 8])
@pytest.mark.parametrize("fibrillation_uv", [20.0, 80.0])
def test_irregular_rhythm_without_p_waves_is_possible_af(seed, fibrillation_uv) -> None:
    rr = np.random.default_rng(seed).uniform(0.45, 1.1, 40)
    record, _ = synthetic(list(rr), p_wave=False, fibrillation_uv=fibrillation_uv, seed=seed)
    analysis = analyze(record)
    assert analysis.rhythm == codes.IRREGULAR_POSSIBLE_AF
    assert analysis.pr_ms is None


def test_irregular_rhythm_with_p_waves_is_not_called_af() -> None:
    rr = np.random.default_rng(5).uniform(0.6, 1.2, 40)
    record, _ = synthetic(list(rr), noise_uv=20)
    assert analyze(record).rhythm == codes.IRREGULAR_RHYTHM


@pytest.mark.parametrize("noise_uv", [0.0, 30.0, 60.0])
def test_p_waves_are_found_through_noise(noise_uv) -> None:
    analysis = analyze(synthetic(heart_rate=70, noise_uv=noise_uv, seed=9)[0])
    assert analysis.rhythm == codes.SINUS_RHYTHM
    assert analysis.pr_ms is not None


def test_regular_rhythm_without_p_waves_is_not_called_sinus() -> None:
    record, _ = synthetic(heart_rate=70, p_wave=False)
    assert analyze(record).rhythm == codes.NON_SINUS_RHYTHM


def test_a_pause_over_three_seconds_is_critical() -> None:
    record, _ = synthetic([0.9, 0.9, 3.4, 0.9, 0.9, 0.9], duration_s=10)
    analysis = analyze(record)
    assert analysis.pauses_s == (pytest.approx(3.4, abs=0.02),)
    assert codes.PAUSE in analysis.statements
    assert codes.LONG_PAUSE_CRITICAL in analysis.flags
    assert analysis.critical


def test_a_pause_of_two_and_a_half_seconds_is_a_statement_not_a_flag() -> None:
    record, _ = synthetic([0.9, 0.9, 2.5, 0.9, 0.9, 0.9], duration_s=10)
    analysis = analyze(record)
    assert codes.PAUSE in analysis.statements
    assert codes.LONG_PAUSE_CRITICAL not in analysis.flags


def test_no_beat_for_the_last_four_seconds_is_a_critical_pause() -> None:
    # Beats stop 4.6 s before the strip ends (0.6 s lead-in, six RRs of 0.8 s, 10 s in all).
    record, _ = synthetic([0.8] * 6, duration_s=10)
    analysis = analyze(record)
    assert analysis.pauses_s and analysis.pauses_s[-1] > 3.0
    assert codes.LONG_PAUSE_CRITICAL in analysis.flags


def test_rate_below_40_is_critical() -> None:
    analysis = analyze(synthetic(heart_rate=36, duration_s=12)[0])
    assert analysis.flags == (codes.LOW_RATE_CRITICAL,)
    assert analysis.critical


def test_rate_above_150_is_critical() -> None:
    analysis = analyze(synthetic(heart_rate=170, qt_ms=260, pr_ms=120)[0])
    assert analysis.heart_rate_bpm == pytest.approx(170, abs=2)
    assert codes.HIGH_RATE_CRITICAL in analysis.flags
    assert analysis.critical


def test_st_elevation_in_two_contiguous_inferior_leads_is_critical() -> None:
    record, _ = synthetic(st_uv={"II": 200.0, "III": 250.0, "aVF": 220.0})
    analysis = analyze(record)
    assert codes.SUSPECTED_ST_ELEVATION in analysis.flags
    assert analysis.critical
    assert analysis.st_level_uv["II"] > 100


def test_st_elevation_in_one_lead_alone_is_not_flagged() -> None:
    record, _ = synthetic(st_uv={"aVL": 200.0, "V1": 200.0})
    assert codes.SUSPECTED_ST_ELEVATION not in analyze(record).flags


def test_v2_v3_need_the_higher_threshold() -> None:
    small, _ = synthetic(st_uv={"V2": 120.0, "V3": 120.0})
    large, _ = synthetic(st_uv={"V2": 250.0, "V3": 250.0})
    assert codes.SUSPECTED_ST_ELEVATION not in analyze(small).flags
    assert codes.SUSPECTED_ST_ELEVATION in analyze(large).flags


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("amplitude", [20.0, 300.0, 3000.0])
def test_pure_noise_is_accepted_and_not_measured(seed, amplitude) -> None:
    analysis = analyze(_noise(amplitude, seed))
    assert not analysis.measurable
    assert analysis.statements == (codes.MEASUREMENTS_UNAVAILABLE,)
    assert analysis.reason
    assert analysis.reason_code in (codes.TOO_NOISY, codes.NO_BEATS)
    assert analysis.heart_rate_bpm is None and not analysis.flags
    if analysis.reason_code == codes.TOO_NOISY:
        assert analysis.beats == ()


def test_a_flat_line_is_not_measured() -> None:
    flat = build_record(
        sampling_rate=500, leads=["II"], channels=[np.zeros(5000)], source_format="csv"
    )
    analysis = analyze(flat)
    assert not analysis.measurable
    assert analysis.lead_quality == {"II": 0.0}
    assert analysis.reason_code == codes.NO_BEATS


def test_moderate_noise_is_still_measured_and_heavy_noise_is_not() -> None:
    assert analyze(synthetic(noise_uv=150, seed=2)[0]).measurable
    assert not analyze(synthetic(noise_uv=900, seed=2)[0]).measurable


def test_a_disconnected_lead_lowers_its_quality_only() -> None:
    record, _ = synthetic(noise_uv=5)
    samples = record.samples.copy()
    samples[record.leads.index("V4")] = np.random.default_rng(0).normal(0, 3, record.n_samples)
    broken = build_record(
        sampling_rate=500, leads=record.leads, channels=list(samples), source_format="csv"
    )
    analysis = analyze(broken)
    assert analysis.measurable
    assert analysis.lead_quality["V4"] < 0.3
    assert analysis.lead_quality["II"] > 0.9
    assert codes.LOW_SIGNAL_QUALITY in analysis.statements


def test_a_noisy_lead_ii_falls_back_to_another_lead() -> None:
    record, _ = synthetic(noise_uv=5)
    samples = record.samples.copy()
    samples[record.leads.index("II")] = np.random.default_rng(1).normal(0, 500, record.n_samples)
    analysis = analyze(
        build_record(
            sampling_rate=500, leads=record.leads, channels=list(samples), source_format="csv"
        )
    )
    assert analysis.measurable
    assert analysis.analysed_lead != "II"
    assert analysis.heart_rate_bpm == pytest.approx(60, abs=1.5)


def test_a_failure_inside_the_detector_becomes_unmeasurable(monkeypatch) -> None:
    def broken(cleaned, rate):  # what neurokit2 does on some degenerate signals
        raise IndexError("index 0 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(beats, "detect_r_peaks", broken)
    analysis = analyze(synthetic()[0])
    assert not analysis.measurable
    assert analysis.reason_code == codes.ANALYSIS_FAILED
    assert "IndexError" in analysis.reason
    assert analysis.statements == (codes.MEASUREMENTS_UNAVAILABLE,)


def test_analysis_is_deterministic_and_json_safe() -> None:
    record = simulated(duration_s=10, heart_rate=80)
    first, second = analyze(record), analyze(record)
    assert first == second
    data = json.loads(json.dumps(first.to_json(), allow_nan=False))
    assert data["beats"] == list(first.beats)
    assert set(data) >= {
        "heart_rate_bpm",
        "rr_ms",
        "pr_ms",
        "qrs_ms",
        "qt_ms",
        "qtc_bazett_ms",
        "qtc_fridericia_ms",
        "axis_deg",
        "rhythm",
        "statements",
        "pauses_s",
        "lead_quality",
        "flags",
        "critical",
        "measurable",
        "reason",
        "beats",
        "analysed_lead",
    }


def test_qtc_formulas() -> None:
    analysis = analyze(synthetic(heart_rate=75, qt_ms=380)[0])
    assert analysis.rr_ms is not None and analysis.qt_ms is not None
    rr_s = analysis.rr_ms / 1000
    assert analysis.qtc_bazett_ms == pytest.approx(analysis.qt_ms / rr_s**0.5, abs=0.2)
    assert analysis.qtc_fridericia_ms == pytest.approx(analysis.qt_ms / rr_s ** (1 / 3), abs=0.2)


def test_every_code_has_a_label() -> None:
    for code in (*codes.RHYTHMS, *codes.STATEMENTS, *codes.FLAGS, *codes.REASONS):
        assert codes.label(code)


@pytest.mark.parametrize("rate", [100.0, 250.0, 1000.0, 2000.0, 10_000.0])
def test_every_accepted_rate_is_measured(rate) -> None:
    record, truth = synthetic(rate=rate, heart_rate=75, noise_uv=5, duration_s=6)
    analysis = analyze(record)
    assert analysis.measurable, analysis.reason
    assert analysis.heart_rate_bpm == pytest.approx(75, abs=2)
    assert analysis.qrs_ms == pytest.approx(90, abs=20)
    # Beats are indices into the record's own samples, whatever rate was analysed.
    detected = np.array(analysis.beats)
    assert all(np.min(np.abs(detected - peak)) <= 0.04 * rate for peak in truth.r_peaks)


def test_the_shortest_accepted_record_is_analysed() -> None:
    record, _ = synthetic(duration_s=2.5, heart_rate=80)
    analysis = analyze(record)
    assert analysis.rhythm in codes.RHYTHMS
    assert analysis.measurable or analysis.statements == (codes.MEASUREMENTS_UNAVAILABLE,)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.sampled_from([100.0, 360.0, 500.0]),
    seconds=st.floats(2.5, 6.0),
    scale=st.floats(1e-3, 1e5),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["noise", "steps", "spikes", "sine", "ecg+spikes"]),
)
def test_any_valid_record_is_analysed_without_an_exception(
    rate, seconds, scale, seed, kind
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    if kind == "noise":
        data = rng.normal(0, scale, (2, n))
    elif kind == "steps":
        data = np.repeat(rng.normal(0, scale, (2, 8)), -(-n // 8), axis=1)[:, :n]
    elif kind == "spikes":
        data = np.zeros((2, n))
        data[:, rng.integers(0, n, 5)] = scale
    elif kind == "sine":
        data = scale * np.sin(np.arange(n) / rate * 2 * np.pi * rng.uniform(0.1, 45))[
            None, :
        ].repeat(2, 0)
    else:
        ecg, _ = synthetic(rate=rate, duration_s=seconds, leads=("II", "V5"), seed=seed)
        data = ecg.samples.copy()
        data[:, rng.integers(0, n, 3)] += scale
    record = build_record(
        sampling_rate=rate, leads=["II", "V5"], channels=list(data), source_format="csv"
    )
    analysis = analyze(record)
    json.dumps(analysis.to_json(), allow_nan=False)
    assert analysis.measurable or analysis.statements == (codes.MEASUREMENTS_UNAVAILABLE,)
    assert analysis.critical == bool(analysis.flags)
    assert all(0.0 <= q <= 1.0 for q in analysis.lead_quality.values())


def test_a_long_record_is_searched_in_chunks_without_losing_or_doubling_a_beat() -> None:
    # 11 minutes: three detection chunks with two seams, and the long-record filtering path.
    record, truth = synthetic(
        heart_rate=67, duration_s=660, leads=("II", "V5"), noise_uv=10, seed=12
    )
    assert record.duration_s > beats.CHUNK_S * 2
    analysis = analyze(record)
    detected = np.array(analysis.beats)
    expected = np.array(truth.r_peaks)
    assert detected.size == expected.size
    assert np.abs(detected - expected).max() <= 0.05 * 500
    assert analysis.rhythm == codes.SINUS_RHYTHM
    assert analysis.qrs_ms == pytest.approx(90, abs=16)
