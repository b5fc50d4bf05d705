"""Signed conclusions. The signature is the SHA-256 of the exact text signed, with who and
when; the text includes the case, the patient and the signer, so it stands on its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from telemed.core.errors import ValidationFailed

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation

ICD10 = re.compile(r"^[A-TV-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


@dataclass(frozen=True)
class ConclusionDraft:
    findings: str
    diagnosis: str
    icd10_codes: tuple[str, ...]
    recommendations: str
    amendment_reason: str = ""


def validate(draft: ConclusionDraft, *, amending: bool) -> ConclusionDraft:
    errors: dict[str, str] = {}
    for field in ("findings", "diagnosis", "recommendations"):
        if not getattr(draft, field).strip():
            errors[field] = gettext("is required")
    codes = tuple(code.strip().upper() for code in draft.icd10_codes if code.strip())
    bad = [code for code in codes if not ICD10.match(code)]
    if bad:
        errors["icd10_codes"] = gettext("not ICD-10 codes: %(codes)s") % {"codes": ", ".join(bad)}
    if not codes:
        errors["icd10_codes"] = gettext("at least one ICD-10 code is required")
    if amending and not draft.amendment_reason.strip():
        errors["amendment_reason"] = gettext("an amendment needs a reason")
    if errors:
        raise ValidationFailed(
            gettext("The conclusion is not complete"), details={"fields": errors}
        )
    return ConclusionDraft(
        draft.findings.strip(),
        draft.diagnosis.strip(),
        codes,
        draft.recommendations.strip(),
        draft.amendment_reason.strip(),
    )


def signed_text(
    consultation: Consultation, draft: ConclusionDraft, signer: User, at: dt.datetime, version: int
) -> str:
    """The canonical text that is hashed. Fixed labels in both languages, so that the
    signature does not depend on the signer's interface language."""
    practitioner = signer.practitioner
    title = practitioner.get_title_display() if practitioner else ""
    lines = [
        f"会诊结论 Consultation conclusion {consultation.number} v{version}",
        f"患者 Patient: {consultation.patient.name} ({consultation.patient.mpi_id})",
        f"申请机构 Requested by: {consultation.requesting_institution.name}",
        f"所见 Findings:\n{draft.findings}",
        f"诊断 Diagnosis:\n{draft.diagnosis}",
        f"ICD-10: {', '.join(draft.icd10_codes)}",
        f"建议 Recommendations:\n{draft.recommendations}",
    ]
    if draft.amendment_reason:
        lines.append(f"修订原因 Reason for amendment:\n{draft.amendment_reason}")
    lines.append(
        f"签名 Signed by: {signer.get_full_name() or signer.get_username()} {title} ({signer.get_username()})"
    )
    lines.append(f"时间 Signed at: {at.isoformat(timespec='seconds')}")
    return "\n".join(lines) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signature_holds(conclusion: Conclusion) -> bool:
    return digest(conclusion.signed_text) == conclusion.text_sha256
