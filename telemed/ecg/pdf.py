"""The signed ECG report as a PDF: the tracing (3 x 4 leads of 2.5 s plus a 10 s rhythm strip
of lead II, 25 mm/s and 10 mm/mV on a millimetre grid) on a landscape A4 page, then the
report, the signer and the signature (the SHA-256 of the signed text, printed whole).

Fonts are the conclusion PDF's (``consultations.pdf.font_name``), so Chinese prints the same.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np
from django.utils import formats, timezone
from django.utils.translation import gettext
from reportlab.graphics.shapes import Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.pdf import font_name
from telemed.core.errors import NotFound
from telemed.ecg import queries
from telemed.ecg import samples as sample_store

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.ecg.models import EcgRecording

LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
ROW_MM = 25.0
PINK = colors.Color(1, 0.75, 0.75)
RED = colors.Color(0.95, 0.45, 0.45)


def _grid(drawing: Drawing, width_mm: float, height_mm: float) -> None:
    for i in range(int(width_mm) + 1):
        x = i * mm
        drawing.add(
            Line(
                x,
                0,
                x,
                height_mm * mm,
                strokeColor=RED if i % 5 == 0 else PINK,
                strokeWidth=0.5 if i % 5 == 0 else 0.2,
            )
        )
    for j in range(int(height_mm) + 1):
        y = j * mm
        drawing.add(
            Line(
                0,
                y,
                width_mm * mm,
                y,
                strokeColor=RED if j % 5 == 0 else PINK,
                strokeWidth=0.5 if j % 5 == 0 else 0.2,
            )
        )


def _trace(
    drawing: Drawing,
    lead_uv: np.ndarray,
    rate: float,
    x0_mm: float,
    baseline_mm: float,
    seconds: float,
    name: str,
    font: str,
) -> None:
    count = min(len(lead_uv), int(seconds * rate))
    if count < 2:
        return
    # A point per 0.2 mm is finer than the printer: decimate long leads.
    step = max(1, int(rate / (SPEED_MM_S * 5)))
    values = lead_uv[:count:step] / 1000.0 * GAIN_MM_MV
    xs = x0_mm + np.arange(len(values)) * step / rate * SPEED_MM_S
    ys = np.clip(baseline_mm + values, baseline_mm - ROW_MM * 0.6, baseline_mm + ROW_MM * 0.6)
    points: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        points.extend((float(x) * mm, float(y) * mm))
    drawing.add(PolyLine(points, strokeColor=colors.black, strokeWidth=0.6))
    drawing.add(String((x0_mm + 1) * mm, (baseline_mm + 8) * mm, name, fontName=font, fontSize=7))


def tracing(recording: EcgRecording, data: np.ndarray, font: str) -> Drawing:
    width_mm, height_mm = 250.0, ROW_MM * 4
    drawing = Drawing(width_mm * mm, height_mm * mm)
    _grid(drawing, width_mm, height_mm)
    leads = list(recording.leads)
    rate = recording.sampling_rate
    per_column = int(2.5 * rate)
    for row_index, row in enumerate(LAYOUT):
        baseline = height_mm - ROW_MM * (row_index + 0.5)
        for column, name in enumerate(row):
            if name not in leads:
                continue
            part = data[leads.index(name)][column * per_column : (column + 1) * per_column]
            _trace(drawing, part, rate, column * 62.5, baseline, 2.5, name, font)
    strip = "II" if "II" in leads else leads[0]
    _trace(drawing, data[leads.index(strip)], rate, 0, ROW_MM * 0.5, 10.0, strip, font)
    return drawing


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


def render(case: object, recording: EcgRecording, report: dict[str, object]) -> bytes:
    font = font_name()
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=20, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11)
    seconds = min(recording.duration_s, 10.0)
    count = int(seconds * recording.sampling_rate)
    data = sample_store.window(
        recording.samples_id, len(recording.leads), recording.n_samples, 0, count
    ).astype(float)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=str(getattr(case, "number", "")),
        subject=gettext("ECG report"),
        creator="telemed",
    )
    patient = case.patient  # type: ignore[attr-defined]
    signer = report["signed_by"]
    signed_at = formats.date_format(timezone.localtime(report["signed_at"]), "Y-m-d H:i")  # type: ignore[arg-type]
    header = gettext(
        "%(number)s · %(institution)s · %(patient)s (%(sex)s) · %(rate)g Hz · 25 mm/s · 10 mm/mV"
    ) % {
        "number": case.number,  # type: ignore[attr-defined]
        "institution": case.requesting_institution.name,  # type: ignore[attr-defined]
        "patient": patient.name,
        "sex": patient.get_sex_display(),
        "rate": recording.sampling_rate,
    }
    story: list[object] = [
        Paragraph(_text(gettext("ECG report")), title),
        Paragraph(_text(header), small),
        Spacer(1, 2 * mm),
        tracing(recording, data, font),
        Spacer(1, 3 * mm),
    ]
    for heading, value in (
        (gettext("Findings"), report["findings"]),
        (gettext("Diagnosis"), report["diagnosis"]),
        (gettext("ICD-10"), ", ".join(report["icd10_codes"])),  # type: ignore[arg-type]
        (gettext("Recommendations"), report["recommendations"]),
        (gettext("Signed by"), f"{signer['name']} · {signed_at}"),  # type: ignore[index]
    ):
        story.append(Paragraph(f"<b>{_text(heading)}</b>: {_text(str(value))}", body))
    if int(str(report["version"])) > 1:
        amended = f"{report['version']} · {report['amendment_reason']}"
        story.append(
            Paragraph(f"<b>{_text(gettext('Amended version'))}</b>: {_text(amended)}", body)
        )
    story.append(Paragraph("SHA-256: " + str(report["text_sha256"]), small))
    document.build(story)
    return buffer.getvalue()


def export(actor: User, consultation_id: int) -> tuple[bytes, str]:
    """The PDF of the case's signed report; NotFound out of scope or before the report.
    Audited as an export."""
    from telemed.ecg import present

    case = queries.get_case(actor, consultation_id)
    report = present.report(case)
    if report is None:
        raise NotFound(gettext("This ECG has no signed report yet"))
    data = render(case, queries.recording(case), report)
    audit.record(
        actor,
        Action.EXPORT,
        object_type="ecg_report",
        object_id=case.pk,
        patient_id=case.patient_id,
        detail={"consultation": case.number, "sha256": report["text_sha256"], "format": "pdf"},
    )
    return data, f"{case.number}-ECG.pdf"
