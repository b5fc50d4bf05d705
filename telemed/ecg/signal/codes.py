"""Rhythm, statement and flag codes of the automated analysis, with their English labels.

The codes are stable identifiers stored with an analysis and sent over the API; the labels
are for people. The Chinese next to each code is the wording the ecg catalogue uses
(``telemed/ecg/locale/zh_Hans``, kept by the ECG workflow side).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Rhythm codes: exactly one per analysis.
SINUS_RHYTHM = "sinus_rhythm"  # 窦性心律
SINUS_BRADYCARDIA = "sinus_bradycardia"  # 窦性心动过缓
SINUS_TACHYCARDIA = "sinus_tachycardia"  # 窦性心动过速
IRREGULAR_POSSIBLE_AF = "irregular_possible_af"  # 心律不齐，可能为心房颤动
IRREGULAR_RHYTHM = "irregular_rhythm"  # 心律不齐
NON_SINUS_RHYTHM = "non_sinus_rhythm"  # 非窦性心律（未见 P 波）
UNDETERMINED_RHYTHM = "undetermined_rhythm"  # 节律无法判定

# Statement codes: findings that pre-fill the report; the expert confirms or removes them.
PAUSE = "pause"  # 心搏暂停（RR > 2 秒）
PROLONGED_PR = "prolonged_pr"  # PR 间期延长
SHORT_PR = "short_pr"  # PR 间期缩短
WIDE_QRS = "wide_qrs"  # QRS 波群增宽
PROLONGED_QTC = "prolonged_qtc"  # QTc 间期延长
LEFT_AXIS_DEVIATION = "left_axis_deviation"  # 电轴左偏
RIGHT_AXIS_DEVIATION = "right_axis_deviation"  # 电轴右偏
EXTREME_AXIS = "extreme_axis"  # 电轴极度偏移（无人区电轴）
LOW_SIGNAL_QUALITY = "low_signal_quality"  # 部分导联信号质量差
MEASUREMENTS_UNAVAILABLE = "measurements_unavailable"  # 无法自动测量

# Critical flag codes: any of them puts the ECG at the top of the queue with an alarm.
LOW_RATE_CRITICAL = "low_rate_critical"  # 心率过低（< 40 次/分）
HIGH_RATE_CRITICAL = "high_rate_critical"  # 心率过快（> 150 次/分）
LONG_PAUSE_CRITICAL = "long_pause_critical"  # 长间歇（> 3 秒）
SUSPECTED_ST_ELEVATION = "suspected_st_elevation"  # 疑似 ST 段抬高

# Why an analysis is not measurable (``Analysis.reason_code``; ``reason`` has the detail).
NO_BEATS = "no_beats"  # 未检出心搏
TOO_NOISY = "too_noisy"  # 信号噪声过大，无法测量
ANALYSIS_FAILED = "analysis_failed"  # 自动分析失败

RHYTHMS: dict[str, Promise] = {
    SINUS_RHYTHM: _("Sinus rhythm"),
    SINUS_BRADYCARDIA: _("Sinus bradycardia"),
    SINUS_TACHYCARDIA: _("Sinus tachycardia"),
    IRREGULAR_POSSIBLE_AF: _("Irregular rhythm, possible atrial fibrillation"),
    IRREGULAR_RHYTHM: _("Irregular rhythm"),
    NON_SINUS_RHYTHM: _("Non-sinus rhythm (no P waves found)"),
    UNDETERMINED_RHYTHM: _("Rhythm undetermined"),
}

STATEMENTS: dict[str, Promise] = {
    PAUSE: _("Pause (RR interval over 2 s)"),
    PROLONGED_PR: _("Prolonged PR interval"),
    SHORT_PR: _("Short PR interval"),
    WIDE_QRS: _("Wide QRS complex"),
    PROLONGED_QTC: _("Prolonged QTc interval"),
    LEFT_AXIS_DEVIATION: _("Left axis deviation"),
    RIGHT_AXIS_DEVIATION: _("Right axis deviation"),
    EXTREME_AXIS: _("Extreme axis deviation"),
    LOW_SIGNAL_QUALITY: _("Poor signal quality in some leads"),
    MEASUREMENTS_UNAVAILABLE: _("Measurements unavailable"),
    SUSPECTED_ST_ELEVATION: _("Suspected ST elevation"),
}

FLAGS: dict[str, Promise] = {
    LOW_RATE_CRITICAL: _("Heart rate below 40 bpm"),
    HIGH_RATE_CRITICAL: _("Heart rate above 150 bpm"),
    LONG_PAUSE_CRITICAL: _("Pause longer than 3 s"),
    SUSPECTED_ST_ELEVATION: _("Suspected ST elevation"),
}


REASONS: dict[str, Promise] = {
    NO_BEATS: _("No heartbeats were found"),
    TOO_NOISY: _("The signal is too noisy to measure"),
    ANALYSIS_FAILED: _("The automated analysis failed"),
}


def label(code: str) -> str:
    """The label of any rhythm, statement, flag or reason code, in the active language."""
    for table in (RHYTHMS, STATEMENTS, FLAGS, REASONS):
        if code in table:
            return str(table[code])
    raise KeyError(code)
