"""The ECG report: common phrases to click, the measurements pre-filled from the analysis
and corrected by the expert, free text; signed as the case's conclusion (the engine's
``conclude`` step and ``consultations.signing``), with the structured part kept beside it.

An amendment (the engine's ``amend`` step: the signer, with a reason) is a new signed
version that supersedes the last one; it gets its own structured part, so every version
keeps the phrases and measurements it was signed with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telemed.consultations import services as consultation_services
from telemed.consultations import signing
from telemed.core.errors import ValidationFailed
from telemed.ecg import analysis_view, queries
from telemed.ecg.models import EcgReport
from telemed.ecg.signal import codes

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation


@dataclass(frozen=True)
class Phrase:
    code: str
    label: str | Promise
    icd10: str = ""


PHRASES: tuple[Phrase, ...] = (
    Phrase("normal_ecg", _("Normal ECG"), "Z01.8"),
    Phrase("sinus_rhythm", _("Sinus rhythm")),
    Phrase("sinus_tachycardia", _("Sinus tachycardia"), "R00.0"),
    Phrase("sinus_bradycardia", _("Sinus bradycardia"), "R00.1"),
    Phrase("sinus_arrhythmia", _("Sinus arrhythmia"), "I49.8"),
    Phrase("atrial_fibrillation", _("Atrial fibrillation"), "I48"),
    Phrase("atrial_flutter", _("Atrial flutter"), "I48"),
    Phrase("premature_atrial", _("Premature atrial contractions"), "I49.1"),
    Phrase("premature_ventricular", _("Premature ventricular contractions"), "I49.3"),
    Phrase("first_degree_av_block", _("First-degree AV block"), "I44.0"),
    Phrase("rbbb", _("Complete right bundle branch block"), "I45.1"),
    Phrase("lbbb", _("Complete left bundle branch block"), "I44.7"),
    Phrase("st_elevation", _("ST elevation"), "R94.3"),
    Phrase("st_depression", _("ST depression"), "R94.3"),
    Phrase("t_wave_changes", _("T wave changes"), "R94.3"),
    Phrase("prolonged_qt", _("Prolonged QT interval"), "I45.8"),
    Phrase("lvh", _("Left ventricular hypertrophy"), "I51.7"),
    Phrase("left_axis", _("Left axis deviation"), "R94.3"),
    Phrase("right_axis", _("Right axis deviation"), "R94.3"),
)
BY_CODE = {phrase.code: phrase for phrase in PHRASES}

# The analysis' codes that suggest a phrase on the form (the expert confirms or removes).
SUGGESTED = {
    codes.SINUS_RHYTHM: "sinus_rhythm",
    codes.SINUS_TACHYCARDIA: "sinus_tachycardia",
    codes.SINUS_BRADYCARDIA: "sinus_bradycardia",
    codes.IRREGULAR_POSSIBLE_AF: "atrial_fibrillation",
    codes.SUSPECTED_ST_ELEVATION: "st_elevation",
    codes.PROLONGED_QTC: "prolonged_qt",
    codes.LEFT_AXIS_DEVIATION: "left_axis",
    codes.RIGHT_AXIS_DEVIATION: "right_axis",
}

# Plausible ranges of a corrected measurement; outside them it is a typing slip.
RANGES: dict[str, tuple[float, float]] = {
    "heart_rate_bpm": (10, 350),
    "rr_ms": (150, 6000),
    "pr_ms": (40, 600),
    "qrs_ms": (30, 300),
    "qt_ms": (150, 800),
    "qtc_bazett_ms": (150, 800),
    "qtc_fridericia_ms": (150, 800),
    "axis_deg": (-180, 180),
}
MEASUREMENT_LABELS: dict[str, str | Promise] = {
    "heart_rate_bpm": _("Heart rate"),
    "rr_ms": _("RR interval"),
    "pr_ms": _("PR interval"),
    "qrs_ms": _("QRS duration"),
    "qt_ms": _("QT interval"),
    "qtc_bazett_ms": _("QTc (Bazett)"),
    "qtc_fridericia_ms": _("QTc (Fridericia)"),
    "axis_deg": _("Frontal axis"),
}


@dataclass(frozen=True)
class ReportDraft:
    phrases: tuple[str, ...] = ()
    measurements: dict[str, float | None] = field(default_factory=dict)
    findings: str = ""  # free text beside the measurements
    diagnosis: str = ""  # free text beside the phrases
    icd10_codes: tuple[str, ...] = ()  # empty: those of the phrases
    recommendations: str = ""


def suggested_phrases(analysis: dict[str, object]) -> list[str]:
    found = [analysis_view.rhythm(analysis), *analysis_view.statements(analysis)]
    found += analysis_view.flags(analysis)
    return list(dict.fromkeys(SUGGESTED[code] for code in found if code in SUGGESTED))


def validate(draft: ReportDraft) -> ReportDraft:
    errors: dict[str, str] = {}
    unknown = [code for code in draft.phrases if code not in BY_CODE]
    if unknown:
        errors["phrases"] = gettext("unknown phrases: %(codes)s") % {"codes": ", ".join(unknown)}
    clean: dict[str, float | None] = {}
    for name, value in draft.measurements.items():
        if name not in RANGES:
            errors[f"measurements.{name}"] = gettext("unknown measurement")
            continue
        low, high = RANGES[name]
        if value is not None and not (low <= value <= high):
            errors[f"measurements.{name}"] = gettext("must be between %(low)s and %(high)s") % {
                "low": low,
                "high": high,
            }
        clean[name] = value
    if not draft.phrases and not draft.diagnosis.strip():
        errors["phrases"] = gettext("choose a phrase or write the diagnosis")
    if errors:
        raise ValidationFailed(
            gettext("The ECG report is not complete"), details={"fields": errors}
        )
    return ReportDraft(
        tuple(dict.fromkeys(draft.phrases)),
        clean,
        draft.findings.strip(),
        draft.diagnosis.strip(),
        draft.icd10_codes,
        draft.recommendations.strip(),
    )


def _number(value: float) -> str:
    return f"{value:g}"


def findings_text(draft: ReportDraft) -> str:
    units = dict(analysis_view.MEASUREMENTS)
    parts = [
        f"{MEASUREMENT_LABELS[name]} {_number(value)} {units[name]}"
        for name, value in draft.measurements.items()
        if value is not None
    ]
    lines = ["；".join(parts)] if parts else []
    if draft.findings:
        lines.append(draft.findings)
    return "\n".join(lines) or gettext("See the tracing.")


def conclusion_draft(draft: ReportDraft, *, amendment_reason: str = "") -> signing.ConclusionDraft:
    labels = [str(BY_CODE[code].label) for code in draft.phrases]
    diagnosis = "；".join([*labels, *([draft.diagnosis] if draft.diagnosis else [])])
    icd10 = draft.icd10_codes or tuple(
        dict.fromkeys(BY_CODE[code].icd10 for code in draft.phrases if BY_CODE[code].icd10)
    )
    return signing.ConclusionDraft(
        findings=findings_text(draft),
        diagnosis=diagnosis,
        icd10_codes=icd10 or ("R94.3",),
        recommendations=draft.recommendations or gettext("Clinical correlation."),
        amendment_reason=amendment_reason,
    )


def sign_report(actor: User, consultation_id: int, draft: ReportDraft) -> Conclusion:
    """Sign the claimer's report: the conclusion (hash-signed, never changed) and its
    structured part, in one transaction; the requester is told after it commits."""
    case: Consultation = queries.get_case(actor, consultation_id)
    recording = queries.recording(case)
    if case.assigned_expert_id == actor.pk:
        draft = validate(draft)
    # Anyone else is refused by the engine's conclude step (403 / 409) before any of it counts.
    with transaction.atomic():
        conclusion = consultation_services.conclude(actor, case.pk, conclusion_draft(draft))
        EcgReport.objects.create(
            recording=recording,
            conclusion=conclusion,
            phrases=list(draft.phrases),
            measurements=draft.measurements,
        )
    return conclusion


def amend_report(
    actor: User, consultation_id: int, draft: ReportDraft, *, reason: str
) -> Conclusion:
    """Sign a new version of the report (the signer only, with a reason): the conclusion
    superseding the last one and its structured part, in one transaction."""
    case: Consultation = queries.get_case(actor, consultation_id)
    recording = queries.recording(case)
    if case.conclusions.filter(signed_by=actor).exists():
        draft = validate(draft)
    # Anyone else is refused by the engine's amend step (403 / 409); a missing reason by
    # the signing rules, before anything is written.
    with transaction.atomic():
        conclusion = consultation_services.amend(
            actor, case.pk, conclusion_draft(draft, amendment_reason=reason)
        )
        EcgReport.objects.create(
            recording=recording,
            conclusion=conclusion,
            phrases=list(draft.phrases),
            measurements=draft.measurements,
        )
    return conclusion
