"""The pathology report (gross and microscopic description, diagnosis with codes, the
immunohistochemistry table, key images) and its signing and PDF.

Like the imaging report, it is signed through the consultation workflow's ``conclude`` step,
so it is a ``Conclusion`` with the same state guard, history row, audit event and SHA-256 of
the canonical text; no table of its own. The parts go into the conclusion's findings under
fixed bilingual headings; the IHC table as one ``marker | result | note`` line per stain;
each key image as its id and the SHA-256 of its JPEG, so the signature covers the exact
images the report shows. ``parse`` gives the parts back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations import pdf, services, signing
from telemed.consultations.workflow import access
from telemed.core.errors import NotFound, ValidationFailed
from telemed.pathology.models import KeyImage
from telemed.storage.blobstore import get_blob_store

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Conclusion, Consultation

GROSS = "大体描述 Gross description:"
MICROSCOPIC = "镜下所见 Microscopic description:"
IHC = "免疫组化 Immunohistochemistry:"
KEY_IMAGES = "关键图像 Key images:"
HEADINGS = (GROSS, MICROSCOPIC, IHC, KEY_IMAGES)
MAX_IHC_ROWS = 60
MAX_KEY_IMAGES = 12


@dataclass(frozen=True)
class Stain:
    marker: str
    result: str
    note: str = ""


@dataclass(frozen=True)
class PathologyReport:
    gross: str
    microscopic: str
    diagnosis: str
    icd10_codes: tuple[str, ...]
    recommendations: str
    immunohistochemistry: tuple[Stain, ...] = ()
    key_image_ids: tuple[int, ...] = field(default_factory=tuple)


def _cell(value: str) -> str:
    # One line per stain, cells split by "|": neither may occur inside a cell.
    return " ".join(value.replace("|", "/").split())[:120]


def _key_images(consultation: Consultation, ids: tuple[int, ...]) -> list[KeyImage]:
    if len(ids) > MAX_KEY_IMAGES:
        raise ValidationFailed(
            gettext("A report holds at most %(count)s key images.") % {"count": MAX_KEY_IMAGES}
        )
    found = {
        image.pk: image
        for image in KeyImage.objects.unscoped("key images of a case read in scope").filter(
            slide__consultation=consultation, pk__in=ids
        )
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationFailed(
            gettext("Key images %(ids)s are not on this case.") % {"ids": ", ".join(missing)}
        )
    return [found[i] for i in dict.fromkeys(ids)]


def draft_of(report: PathologyReport, images: list[KeyImage]) -> signing.ConclusionDraft:
    """The conclusion draft that carries the report. Without a microscopic description the
    findings stay empty, so that ``signing.validate`` refuses the report."""
    if len(report.immunohistochemistry) > MAX_IHC_ROWS:
        raise ValidationFailed(
            gettext("At most %(count)s immunohistochemistry rows.") % {"count": MAX_IHC_ROWS}
        )
    microscopic = report.microscopic.strip()
    rows = [
        f"{_cell(s.marker)} | {_cell(s.result)} | {_cell(s.note)}"
        for s in report.immunohistochemistry
        if s.marker.strip()
    ]
    pictures = [f"#{image.pk} sha256:{image.blob_id}" for image in images]
    parts = [
        f"{GROSS}\n{report.gross.strip()}",
        f"{MICROSCOPIC}\n{microscopic}",
        f"{IHC}\n" + "\n".join(rows),
        f"{KEY_IMAGES}\n" + "\n".join(pictures),
    ]
    return signing.ConclusionDraft(
        findings="\n\n".join(parts) if microscopic else "",
        diagnosis=report.diagnosis,
        icd10_codes=report.icd10_codes,
        recommendations=report.recommendations,
    )


def sign(actor: User, consultation_id: int, report: PathologyReport) -> Conclusion:
    """Sign the report as the case's conclusion (the ``conclude`` step: 404 outside the
    expert's scope, 403 for another part, 409 in another state, 422 when incomplete)."""
    consultation = access(actor, consultation_id)
    images = _key_images(consultation, report.key_image_ids)
    return services.conclude(actor, consultation_id, draft_of(report, images))


def _sections(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    current: str | None = None
    for line in text.split("\n"):
        if line in HEADINGS:
            current = line
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return {heading: body.strip() for heading, body in found.items()}


def parse(conclusion: Conclusion) -> PathologyReport:
    """The report's parts from a signed conclusion; one not written as a pathology report
    comes back with all of its findings as the microscopic description."""
    sections = _sections(conclusion.findings)
    if MICROSCOPIC not in sections:
        sections = {MICROSCOPIC: conclusion.findings}
    stains = []
    for line in sections.get(IHC, "").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) == 3:
            stains.append(Stain(*cells))
    ids = []
    for line in sections.get(KEY_IMAGES, "").splitlines():
        head = line.split(" ", 1)[0]
        if head.startswith("#") and head[1:].isdigit():
            ids.append(int(head[1:]))
    return PathologyReport(
        gross=sections.get(GROSS, ""),
        microscopic=sections.get(MICROSCOPIC, ""),
        diagnosis=conclusion.diagnosis,
        icd10_codes=tuple(conclusion.icd10_codes),
        recommendations=conclusion.recommendations,
        immunohistochemistry=tuple(stains),
        key_image_ids=tuple(ids),
    )


def render(consultation: Consultation, conclusion: Conclusion) -> bytes:
    """The report's PDF: the parts, the IHC table, the key images, the signature."""
    styles = pdf._styles(pdf.font_name())
    text = pdf._text
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
        subject=gettext("Pathology report"),
        creator="telemed",
    )
    patient_label, signed_label = gettext("Patient"), gettext("Signed by")
    story: list[object] = [
        Paragraph(text(gettext("Pathology report")), styles["title"]),
        Paragraph(
            text(f"{consultation.number} · {consultation.requesting_institution.name}"),
            styles["subtitle"],
        ),
        Paragraph(
            text(
                f"{patient_label}: {patient.name} · {patient.get_sex_display()} · "
                f"{patient.birth_date.isoformat()}"
            ),
            styles["body"],
        ),
    ]
    for heading, body in (
        (gettext("Gross description"), report.gross),
        (gettext("Microscopic description"), report.microscopic),
    ):
        story += [
            Paragraph(text(heading), styles["heading"]),
            Paragraph(text(body), styles["body"]),
        ]
    if report.immunohistochemistry:
        story.append(Paragraph(text(gettext("Immunohistochemistry")), styles["heading"]))
        header = [gettext("Marker"), gettext("Result"), gettext("Note")]
        rows = [header] + [[s.marker, s.result, s.note] for s in report.immunohistochemistry]
        table = Table(
            [[Paragraph(text(cell), styles["body"]) for cell in row] for row in rows],
            colWidths=[40 * mm, 50 * mm, None],
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ]
            )
        )
        story.append(table)
    story += [
        Paragraph(text(gettext("Diagnosis")), styles["heading"]),
        Paragraph(text(report.diagnosis), styles["body"]),
        Paragraph(text("ICD-10: " + ", ".join(report.icd10_codes)), styles["body"]),
        Paragraph(text(gettext("Recommendations")), styles["heading"]),
        Paragraph(text(report.recommendations), styles["body"]),
    ]
    images = KeyImage.objects.unscoped("key images named in a signed report read in scope")
    for image in images.filter(pk__in=report.key_image_ids, slide__consultation=consultation):
        with get_blob_store().open(image.blob_id) as stream:
            data = io.BytesIO(stream.read())  # a key image is small (REGION_SIDE pixels)
        picture = Image(data)
        scale = min(80 * mm / picture.imageWidth, 60 * mm / picture.imageHeight)
        picture.drawWidth, picture.drawHeight = (
            picture.imageWidth * scale,
            picture.imageHeight * scale,
        )
        story += [Spacer(1, 2 * mm), picture, Paragraph(text(image.caption), styles["small"])]
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            text(
                f"{signed_label}: {signer.get_full_name() or signer.get_username()} · "
                f"{pdf._when(conclusion.signed_at)}"
            ),
            styles["body"],
        ),
        Paragraph("SHA-256: " + conclusion.text_sha256, styles["hash"]),
    ]
    document.build(story)
    return buffer.getvalue()


def export(actor: User, consultation_id: int) -> tuple[bytes, str]:
    """The latest signed report as a PDF and a file name; NotFound outside the actor's
    scope or before signing. Audited as an export."""
    consultation = access(actor, consultation_id)
    conclusion = consultation.conclusions.select_related("signed_by").order_by("-version").first()
    if conclusion is None:
        raise NotFound(gettext("This consultation has no signed report"))
    data = render(consultation, conclusion)
    audit.record(
        actor,
        Action.EXPORT,
        object_type="consultation_conclusion",
        object_id=conclusion.pk,
        patient_id=consultation.patient_id,
        detail={"consultation": consultation.number, "format": "pathology-pdf"},
    )
    return data, f"{consultation.number}-pathology-v{conclusion.version}.pdf"
