"""The pathology kind's step policy: QC and triage, the QC checklist, and the platform's own
checks of the case's slides shown next to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telemed.consultations.policies import AutomaticCheck, ChecklistItem, KindPolicy, register
from telemed.consultations.states import Kind
from telemed.core.errors import DomainError
from telemed.pathology import slides
from telemed.pathology.models import Slide, SlideState

if TYPE_CHECKING:
    from telemed.consultations.models import Consultation

Result = tuple[bool, str]


def _slides(consultation: Consultation) -> list[Slide]:
    return list(consultation.slides.select_related("blob"))


def check_slides_attached(consultation: Consultation) -> Result:
    found = _slides(consultation)
    if not found:
        return False, _("No slide is attached.")
    return True, _("%(count)s slide(s) attached.") % {"count": len(found)}


def check_slides_readable(consultation: Consultation) -> Result:
    """Every slide is available and its smallest level and last tile still decode."""
    found = _slides(consultation)
    if not found:
        return False, _("No slide is attached.")
    for slide in found:
        if slide.state != SlideState.AVAILABLE:
            return False, _("Slide %(name)s is not available (%(state)s).") % {
                "name": slide.name,
                "state": slide.get_state_display(),
            }
        try:
            slides.inspect(slides.file_path(slide.source))
        except DomainError as error:
            return False, _("Slide %(name)s: %(error)s") % {"name": slide.name, "error": error}
    return True, _("Every slide opens and decodes.")


def check_mpp_known(consultation: Consultation) -> Result:
    found = _slides(consultation)
    if not found:
        return False, _("No slide is attached.")
    unknown = [slide.name for slide in found if not (slide.mpp_x and slide.mpp_y)]
    if unknown:
        return False, _("The pixel size is unknown for: %(names)s.") % {"names": ", ".join(unknown)}
    return True, _("The pixel size is known for every slide (measurements in µm).")


PATHOLOGY = KindPolicy(
    kind=Kind.PATHOLOGY,
    checklist=(
        ChecklistItem("slides_attached", gettext_lazy("The slides of the specimen are attached")),
        ChecklistItem("stain_stated", gettext_lazy("The stain of every slide is stated")),
        ChecklistItem("history_given", gettext_lazy("Clinical history and the question are given")),
        ChecklistItem(
            "gross_described",
            gettext_lazy("The gross specimen is described"),
            required=False,
        ),
    ),
    automatic_checks=(
        AutomaticCheck("slides_attached", gettext_lazy("Slide attached"), check_slides_attached),
        AutomaticCheck(
            "slides_readable", gettext_lazy("Slides available and readable"), check_slides_readable
        ),
        AutomaticCheck("mpp_known", gettext_lazy("Pixel size (MPP) known"), check_mpp_known),
    ),
    session_minutes=30,
)


def register_policy() -> None:
    register(PATHOLOGY)
