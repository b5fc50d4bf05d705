"""A signed conclusion as HL7 v2.5 ORU^R01, for member systems that take results over MLLP.

=========  ==============================================================================
MSH-10     the outbox row's idempotency key (a receiver drops a repeat by it)
PID-3      the record number at the receiving institution (MR) and the resident ID (NNCHN)
ORC/OBR    placer number = the consultation number, filler number = ``<number>-v<version>``;
           OBR-4 LOINC 11488-4 "Consult note"; OBR-25 ``F`` final, ``C`` an amendment
OBX        findings (TX, LOINC 59776-5), one diagnosis per ICD-10 code (CWE, LOINC
           29548-5, coding system I10, with the hospital's own code beside it in CWE-4..6
           when its code mappings have one) or the diagnosis text when it has no code,
           recommendations (TX, LOINC 18776-5), the SHA-256 of the signed text (ST)
=========  ==============================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telemed.exchange.hl7v2 import escape
from telemed.exchange.models import CodeKind, CodeMapping

if TYPE_CHECKING:
    from telemed.consultations.models import Conclusion
    from telemed.directory.models import Institution
    from telemed.exchange.models import Subscription

SENDING_APPLICATION = "TELEMED"


def _ts(moment: object) -> str:
    return moment.strftime("%Y%m%d%H%M%S%z")  # type: ignore[attr-defined]


def local_codes(institution: Institution, icd10_codes: list[str]) -> dict[str, tuple[str, str]]:
    """The institution's own diagnosis codes for these ICD-10 codes (the first mapping of
    each, when several local codes mean one standard code)."""
    found: dict[str, tuple[str, str]] = {}
    mappings = CodeMapping.objects.filter(
        institution=institution, kind=CodeKind.DIAGNOSIS, standard_code__in=icd10_codes
    ).order_by("pk")
    for mapping in mappings:
        found.setdefault(mapping.standard_code, (mapping.local_code, mapping.local_name))
    return found


def build(
    conclusion: Conclusion, subscription: Subscription, control_id: str, record_number: str
) -> str:
    consultation = conclusion.consultation
    patient = consultation.patient
    signer = conclusion.signed_by
    amended = conclusion.supersedes_id is not None
    status = "C" if amended else "F"
    filler = f"{consultation.number}-v{conclusion.version}"
    institution = subscription.member_system.institution
    identifiers = (
        [f"{escape(record_number)}^^^{escape(institution.code)}^MR"] if record_number else []
    )
    if patient.resident_id:
        identifiers.append(f"{patient.resident_id}^^^CHN^NNCHN")
    sex = {"male": "M", "female": "F", "other": "O"}.get(patient.sex, "U")
    signer_name = escape(signer.get_full_name() or signer.get_username())
    signer_institution = signer.institution.code if signer.institution else ""
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                SENDING_APPLICATION,
                escape(signer_institution),
                escape(subscription.receiving_application),
                escape(subscription.receiving_facility),
                _ts(conclusion.signed_at),
                "",
                "ORU^R01^ORU_R01",
                control_id,
                "P",
                "2.5",
                "",
                "",
                "AL",
                "NE",
                "CHN",
                "UNICODE UTF-8",
            ]
        ),
        "|".join(
            [
                "PID",
                "1",
                "",
                "~".join(identifiers),
                "",
                escape(patient.name),
                "",
                f"{patient.birth_date:%Y%m%d}",
                sex,
            ]
        ),
        f"ORC|RE|{escape(consultation.number)}|{escape(filler)}||CM",
        "|".join(
            [
                "OBR",
                "1",
                escape(consultation.number),
                escape(filler),
                "11488-4^Consult note^LN",
                "",
                "",
                _ts(conclusion.signed_at),
                *[""] * 14,
                _ts(conclusion.signed_at),
                "",
                "",
                status,
                *[""] * 6,
                # OBR-32, the principal result interpreter (NDL: subcomponents).
                f"{signer.pk}&{signer_name}",
            ]
        ),
    ]
    observations = [("TX", "59776-5^Procedure findings^LN", escape(conclusion.findings))]
    codes = list(conclusion.icd10_codes)
    local = local_codes(institution, codes)
    if codes:
        for index, code in enumerate(codes):
            text = escape(conclusion.diagnosis) if index == 0 else ""
            value = f"{escape(code)}^{text}^I10"
            if code in local:
                # The hospital's own code beside the standard one (CWE-4..6), mapped back
                # through its code mappings.
                local_code, local_name = local[code]
                value += f"^{escape(local_code)}^{escape(local_name)}^L"
            observations.append(("CWE", "29548-5^Diagnosis^LN", value))
    else:
        observations.append(("TX", "29548-5^Diagnosis^LN", escape(conclusion.diagnosis)))
    observations.append(("TX", "18776-5^Plan of care note^LN", escape(conclusion.recommendations)))
    observations.append(("ST", "SHA256^Signed text digest^L", conclusion.text_sha256))
    for number, (kind, code, text) in enumerate(observations, start=1):
        segments.append(f"OBX|{number}|{kind}|{code}||{text}||||||{status}")
    return "\r".join(segments) + "\r"
