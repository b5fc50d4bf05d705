"""The signed imaging report as a PDF: the case, the studies read, technique, findings,
impression, and the signature. Fonts and styles are the consultation PDF's (Chinese text
with reportlab's CID font unless ``CONCLUSION_PDF_FONT`` names one to embed)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import signing
from telemed.consultations.pdf import _styles, _text, _when, font_name
from telemed.consultations.workflow import access
from telemed.core.errors import NotFound
from telemed.imaging.models import CaseStudy
from telemed.imaging.report import parse

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation


def _table(pairs: list[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    table = Table(
        [
            [Paragraph(_text(label), styles["small"]), Paragraph(_text(value), styles["body"])]
            for label, value in pairs
        ],
        colWidths=[34 * mm, None],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
            ]
        )
    )
    return table


def render(consultation: Consultation, conclusion: Conclusion, studies: list[str]) -> bytes:
    """The PDF of one signed version of the case's imaging report."""
    styles = _styles(font_name())
    report = parse(conclusion)
    patient = consultation.patient
    signer = conclusion.signed_by
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{consultation.number} v{conclusion.version}",
        author=signer.get_full_name() or signer.get_username(),
        subject=gettext("Imaging report"),
        creator="telemed",
    )
    story: list[object] = [
        Paragraph(_text(gettext("Telemedicine consultation platform")), styles["subtitle"]),
        Paragraph(_text(gettext("Imaging report")), styles["title"]),
        _table(
            [
                (gettext("Consultation number"), consultation.number),
                (gettext("Report version"), str(conclusion.version)),
                (gettext("Requesting institution"), consultation.requesting_institution.name),
                (gettext("Patient"), patient.name),
                (gettext("Sex"), patient.get_sex_display()),
                (gettext("Date of birth"), patient.birth_date.isoformat()),
                (gettext("Studies read"), "\n".join(studies) or "-"),
            ],
            styles,
        ),
    ]
    for heading, body in (
        (gettext("Technique"), report.technique or "-"),
        (gettext("Findings"), report.findings),
        (gettext("Impression"), report.impression),
        (gettext("ICD-10"), ", ".join(report.icd10_codes)),
        (gettext("Recommendations"), report.recommendations),
    ):
        story.append(Paragraph(_text(heading), styles["heading"]))
        story.append(Paragraph(_text(body), styles["body"]))
    story.append(Spacer(1, 4 * mm))
    story.append(
        _table(
            [
                (gettext("Signed by"), signer.get_full_name() or signer.get_username()),
                (gettext("Signed at"), _when(conclusion.signed_at)),
                (
                    gettext("Signature holds"),
                    gettext("yes") if signing.signature_holds(conclusion) else gettext("NO"),
                ),
            ],
            styles,
        )
    )
    story.append(Paragraph("SHA-256: " + conclusion.text_sha256, styles["hash"]))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(_text(conclusion.signed_text.rstrip("\n")), styles["small"]))
    document.build(story)
    return buffer.getvalue()


def export(actor: User, consultation_id: int) -> tuple[bytes, str]:
    """The PDF of the case's latest signed report and a file name; NotFound outside the
    actor's scope or before signing. Audited as an export."""
    consultation = access(actor, consultation_id)
    conclusion = consultation.conclusions.select_related("signed_by").order_by("-version").first()
    if conclusion is None:
        raise NotFound(gettext("This case has no signed report yet."))
    links = CaseStudy.objects.filter(consultation=consultation).select_related("study")
    studies = [
        " ".join(
            part
            for part in (
                link.study.modalities.replace("\\", "/"),
                link.study.study_date.isoformat() if link.study.study_date else "",
                link.study.study_description,
            )
            if part
        )
        for link in links
    ]
    data = render(consultation, conclusion, studies)
    audit.record(
        actor,
        Action.EXPORT,
        object_type="consultation_conclusion",
        object_id=conclusion.pk,
        patient_id=consultation.patient_id,
        detail={
            "consultation": consultation.number,
            "version": conclusion.version,
            "sha256": conclusion.text_sha256,
            "format": "pdf",
            "report": "imaging",
        },
    )
    return data, f"{consultation.number}-imaging-v{conclusion.version}.pdf"
