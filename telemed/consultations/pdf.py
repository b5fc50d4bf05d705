"""The signed conclusion as a PDF the requesting hospital can print.

Chinese text: by default the PDF uses reportlab's built-in CID font ``STSong-Light`` (Adobe's
Song typeface for the Adobe-GB1 character collection). It needs no font file on the server,
so every deployment renders the same bytes, and every PDF viewer that reads Chinese shows it
(Acrobat with its Asian font pack, pdf.js in the browsers, Foxit, WPS, Preview substitute a
Song face). The glyphs are not embedded, which keeps the file small but leaves the exact
face to the viewer. Where an archive wants the glyphs inside the file, set
``CONCLUSION_PDF_FONT`` to a TrueType font with Chinese glyphs (``.ttf``, or ``.ttc`` with
``CONCLUSION_PDF_FONT_INDEX``; e.g. WenQuanYi Zen Hei): it is then embedded as a subset.
OpenType/CFF fonts (Noto Sans CJK ``.otf``) are not supported by reportlab.

The page shows the conclusion's fields and, under them, the signed text itself with its
SHA-256: the hash covers exactly that text, so a reader can check the signature from paper.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import signing
from telemed.consultations.workflow import access
from telemed.core.errors import NotFound

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation

CID_FONT = "STSong-Light"
EMBEDDED_FONT = "TelemedCJK"


@functools.cache
def _font(path: str, index: int) -> str:
    """Register the font once per process and return its name."""
    if path:
        pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, path, subfontIndex=index))
        return EMBEDDED_FONT
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def font_name() -> str:
    path = str(getattr(settings, "CONCLUSION_PDF_FONT", "") or "")
    index = int(getattr(settings, "CONCLUSION_PDF_FONT_INDEX", 0) or 0)
    return _font(path, index)


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK", spaceAfter=2
    )
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontSize=16, leading=22, alignment=1, spaceAfter=4
        ),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10, alignment=1),
        "heading": ParagraphStyle(
            "heading", parent=base, fontSize=12, leading=17, spaceBefore=8, spaceAfter=3
        ),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11.5),
        # The hash on one line, so that it can be read (and extracted) whole.
        "hash": ParagraphStyle("hash", parent=base, fontSize=7.5, leading=10, wordWrap=None),
    }


def _text(value: str) -> str:
    """Escaped for reportlab's mini-markup, line breaks kept."""
    return escape(value).replace("\n", "<br/>")


def _when(moment: object) -> str:
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i:s")  # type: ignore[arg-type]


def render(consultation: Consultation, conclusion: Conclusion) -> bytes:
    """The PDF of one signed conclusion version."""
    font = font_name()
    styles = _styles(font)
    patient = consultation.patient
    signer = conclusion.signed_by
    practitioner = signer.practitioner
    title = practitioner.get_title_display() if practitioner else ""
    signer_institution = signer.institution.name if signer.institution else ""
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
        subject=gettext("Consultation conclusion"),
        creator="telemed",
    )
    story: list[object] = [
        Paragraph(_text(gettext("Telemedicine consultation platform")), styles["subtitle"]),
        Paragraph(_text(gettext("Consultation conclusion")), styles["title"]),
    ]

    def rows(pairs: list[tuple[str, str]]) -> Table:
        table = Table(
            [
                [Paragraph(_text(label), styles["small"]), Paragraph(_text(value), styles["body"])]
                for label, value in pairs
            ],
            colWidths=[32 * mm, None],
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

    version = str(conclusion.version)
    if conclusion.supersedes_id is not None:
        version += " " + gettext("(amends an earlier version)")
    story.append(
        rows(
            [
                (gettext("Consultation number"), consultation.number),
                (gettext("Conclusion version"), version),
                (gettext("Requesting institution"), consultation.requesting_institution.name),
                (gettext("Patient"), patient.name),
                (gettext("Sex"), patient.get_sex_display()),
                (gettext("Date of birth"), patient.birth_date.isoformat()),
            ]
        )
    )
    sections = [
        (gettext("Findings"), conclusion.findings),
        (gettext("Diagnosis"), conclusion.diagnosis),
        (gettext("ICD-10"), ", ".join(conclusion.icd10_codes)),
        (gettext("Recommendations"), conclusion.recommendations),
    ]
    if conclusion.amendment_reason:
        sections.append((gettext("Reason for amendment"), conclusion.amendment_reason))
    for heading, body in sections:
        story.append(Paragraph(_text(heading), styles["heading"]))
        story.append(Paragraph(_text(body), styles["body"]))
    story.append(Spacer(1, 4 * mm))
    story.append(
        rows(
            [
                (gettext("Signed by"), signer.get_full_name() or signer.get_username()),
                (gettext("Title"), title),
                (gettext("Institution"), signer_institution),
                (gettext("Signed at"), _when(conclusion.signed_at)),
            ]
        )
    )
    story.append(Paragraph(_text(gettext("Signature")), styles["heading"]))
    holds = signing.signature_holds(conclusion)
    story.append(
        Paragraph(
            _text(
                gettext(
                    "The signature is the SHA-256 of the signed text below, exactly as shown. "
                    "Check: %(state)s."
                )
                % {"state": gettext("the text matches") if holds else gettext("MISMATCH")}
            ),
            styles["small"],
        )
    )
    story.append(Paragraph("SHA-256: " + conclusion.text_sha256, styles["hash"]))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(_text(conclusion.signed_text.rstrip("\n")), styles["small"]))
    document.build(story)
    return buffer.getvalue()


def export(actor: User, consultation_id: int, version: int | None = None) -> tuple[bytes, str]:
    """The PDF of the case's latest signed conclusion (or of ``version``) and a file name;
    NotFound outside the actor's scope or when there is no such conclusion. Audited as an
    export."""
    consultation = access(actor, consultation_id)
    versions = consultation.conclusions.select_related(
        "signed_by__practitioner", "signed_by__institution"
    )
    conclusion = (
        versions.filter(version=version).first()
        if version is not None
        else versions.order_by("-version").first()
    )
    if conclusion is None:
        raise NotFound(gettext("This consultation has no signed conclusion"))
    data = render(consultation, conclusion)
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
        },
    )
    return data, f"{consultation.number}-v{conclusion.version}.pdf"
