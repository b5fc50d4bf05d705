"""The structured imaging report (technique, findings, impression) and its signing.

An imaging report is signed through the consultation workflow's ``conclude`` step, so it is
a ``Conclusion`` like any other: same state guard, history row, audit event and SHA-256 of
the canonical text. No table of its own: the technique and the findings are written into the
conclusion's findings under fixed bilingual headings, and the impression is its diagnosis,
so the signed text holds all three parts and ``parse`` gives them back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from telemed.consultations import services, signing

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion

# Fixed labels in both languages (as in the signed text), so that what is signed does not
# depend on the reader's interface language and parsing never needs a catalogue.
TECHNIQUE_HEADING = "检查技术 Technique:"
FINDINGS_HEADING = "影像所见 Imaging findings:"


@dataclass(frozen=True)
class ImagingReport:
    technique: str
    findings: str
    impression: str
    icd10_codes: tuple[str, ...]
    recommendations: str


def draft_of(report: ImagingReport) -> signing.ConclusionDraft:
    """The conclusion draft that carries the report. An empty technique or findings keeps
    its heading empty, so that ``signing.validate`` still refuses a report without
    findings."""
    technique, findings = report.technique.strip(), report.findings.strip()
    text = f"{TECHNIQUE_HEADING}\n{technique}\n\n{FINDINGS_HEADING}\n{findings}" if findings else ""
    return signing.ConclusionDraft(
        findings=text,
        diagnosis=report.impression,
        icd10_codes=report.icd10_codes,
        recommendations=report.recommendations,
    )


def sign(actor: User, consultation_id: int, report: ImagingReport) -> Conclusion:
    """Sign the report as the case's conclusion (the ``conclude`` step: 404 outside the
    expert's scope, 403 for another part, 409 in another state, 422 when incomplete)."""
    return services.conclude(actor, consultation_id, draft_of(report))


def amend(actor: User, consultation_id: int, report: ImagingReport, reason: str) -> Conclusion:
    """Sign a new version of the report that supersedes the latest (the ``amend`` step; the
    reason is required and becomes part of the signed text)."""
    draft = replace(draft_of(report), amendment_reason=reason)
    return services.amend(actor, consultation_id, draft)


def parse(conclusion: Conclusion) -> ImagingReport:
    """The report's parts from a signed conclusion; a conclusion not written as an imaging
    report comes back with all of its findings as findings."""
    text = conclusion.findings
    technique, findings = "", text
    if text.startswith(TECHNIQUE_HEADING) and f"\n{FINDINGS_HEADING}\n" in text:
        head, findings = text[len(TECHNIQUE_HEADING) :].split(f"\n{FINDINGS_HEADING}\n", 1)
        technique = head.strip()
    return ImagingReport(
        technique=technique,
        findings=findings.strip(),
        impression=conclusion.diagnosis,
        icd10_codes=tuple(conclusion.icd10_codes),
        recommendations=conclusion.recommendations,
    )
