"""What the API, the pages and the push say about an ECG case (one shape for all three)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from telemed.consultations.workflow import allowed_actions
from telemed.core import clock
from telemed.ecg import analysis_view, reports
from telemed.ecg.services import display_name

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation
    from telemed.ecg.models import EcgRecording


# What the states mean on an ECG case (the engine's labels speak of triage).
STATE_LABELS = {
    "accepted": _("Waiting in the pool"),
    "assigned": _("Claimed"),
    "concluded": _("Reported"),
    "closed": _("Closed"),
    "withdrawn": _("Withdrawn"),
    "cancelled": _("Cancelled"),
}


def state_label(case: Consultation) -> str:
    return str(STATE_LABELS.get(case.state) or case.get_state_display())


def person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": display_name(user)} if user is not None else None


def _age(case: Consultation) -> int | None:
    born = case.patient.birth_date
    today = clock.now().date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def row(case: Consultation) -> dict[str, Any]:
    recording: EcgRecording = case.ecg_recording
    return {
        "id": case.pk,
        "number": case.number,
        "state": case.state,
        "state_label": state_label(case),
        "urgency": case.urgency,
        "critical": recording.critical,
        "submitted_at": case.submitted_at,
        "requesting_institution": case.requesting_institution.display_name,
        "patient_sex": case.patient.get_sex_display(),
        "patient_age": _age(case),
        **analysis_view.summary(recording.analysis),
        "claimed_by": person(case.assigned_expert) if case.state != "accepted" else None,
        "url": reverse("ecg:case", args=[case.pk]),
    }


def report(case: Consultation) -> dict[str, Any] | None:
    conclusion: Conclusion | None = (
        case.conclusions.select_related("signed_by__practitioner").order_by("-version").first()
    )
    if conclusion is None:
        return None
    structured = getattr(conclusion, "ecg_report", None)
    return {
        "version": conclusion.version,
        "findings": conclusion.findings,
        "diagnosis": conclusion.diagnosis,
        "icd10_codes": conclusion.icd10_codes,
        "recommendations": conclusion.recommendations,
        "phrases": structured.phrases if structured else [],
        "measurements": structured.measurements if structured else {},
        "signed_by": person(conclusion.signed_by),
        "signed_at": conclusion.signed_at,
        "text_sha256": conclusion.text_sha256,
        "amendment_reason": conclusion.amendment_reason,
        # The versions this one supersedes, newest first: kept and shown, never replaced.
        "earlier": [
            {"version": old.version, "signed_at": old.signed_at, "diagnosis": old.diagnosis}
            for old in case.conclusions.filter(version__lt=conclusion.version).order_by("-version")
        ],
        "pdf_url": reverse("ecg:report_pdf", args=[case.pk]),
    }


def detail(user: User, case: Consultation) -> dict[str, Any]:
    recording: EcgRecording = case.ecg_recording
    return {
        **row(case),
        "patient_id": case.patient_id,
        "source_format": recording.source_format,
        "sampling_rate": recording.sampling_rate,
        "leads": list(recording.leads),
        "n_samples": recording.n_samples,
        "duration_s": round(recording.duration_s, 3),
        "analysis": recording.analysis,
        "measurements": analysis_view.measurements(recording.analysis),
        "suggested_phrases": reports.suggested_phrases(recording.analysis),
        "actions": allowed_actions(user, case),
        "samples_url": reverse("api:ecg_samples", args=[case.pk]),
        "report": report(case),
    }
