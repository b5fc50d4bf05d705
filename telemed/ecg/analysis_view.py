"""The workflow's view of the automated analysis (``telemed.ecg.signal.analysis``): run it on
intake, and read what the worklist, the report form and the push need from its JSON.

The analysis JSON is stored as produced; these readers are the one place that knows its
shape, so a change there is one change here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telemed.ecg.signal import codes

if TYPE_CHECKING:
    from telemed.ecg.signal.record import EcgRecord

# The measurements the report form shows, in its order, with their units.
MEASUREMENTS: tuple[tuple[str, str], ...] = (
    ("heart_rate_bpm", "bpm"),
    ("rr_ms", "ms"),
    ("pr_ms", "ms"),
    ("qrs_ms", "ms"),
    ("qt_ms", "ms"),
    ("qtc_bazett_ms", "ms"),
    ("qtc_fridericia_ms", "ms"),
    ("axis_deg", "°"),
)


def analyze_to_json(record: EcgRecord) -> dict[str, Any]:
    from telemed.ecg.signal.analysis import analyze

    return dict(analyze(record).to_json())


def flags(analysis: dict[str, Any]) -> list[str]:
    return [str(code) for code in analysis.get("flags") or [] if isinstance(code, str)]


def is_critical(analysis: dict[str, Any]) -> bool:
    return bool(analysis.get("critical")) or bool(flags(analysis))


def rhythm(analysis: dict[str, Any]) -> str:
    value = analysis.get("rhythm")
    if isinstance(value, dict):
        value = value.get("code")
    return str(value) if value else codes.UNDETERMINED_RHYTHM


def statements(analysis: dict[str, Any]) -> list[str]:
    found = []
    for item in analysis.get("statements") or []:
        code = item.get("code") if isinstance(item, dict) else item
        if isinstance(code, str):
            found.append(code)
    return found


def measurements(analysis: dict[str, Any]) -> dict[str, float | None]:
    """The pre-filled measurements (None where the analysis could not measure)."""
    out: dict[str, float | None] = {}
    for name, _unit in MEASUREMENTS:
        value = analysis.get(name)
        out[name] = round(float(value), 1) if isinstance(value, int | float) else None
    return out


def heart_rate(analysis: dict[str, Any]) -> float | None:
    return measurements(analysis)["heart_rate_bpm"]


def label(code: str) -> str:
    try:
        return codes.label(code)
    except KeyError:
        return code


def summary(analysis: dict[str, Any]) -> dict[str, Any]:
    """What a worklist row and a push message carry (no patient data)."""
    return {
        "rhythm": rhythm(analysis),
        "rhythm_label": label(rhythm(analysis)),
        "heart_rate": heart_rate(analysis),
        "flags": flags(analysis),
        "flag_labels": [label(code) for code in flags(analysis)],
    }
