"""Scoped reads of slides, annotations and key images. Opening a slide is audited here once
(its descriptor or its details); tiles are not, or one look at a slide would write hundreds
of events. The label image shows the patient's name and is audited on every read; experts
from external-partner institutions never get it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import Conflict, NotFound
from telemed.directory.models import Tier
from telemed.pathology.models import Annotation, KeyImage, Slide, SlideState

if TYPE_CHECKING:
    from telemed.accounts.models import User


def visible_slides(user: User | None) -> QuerySet[Slide]:
    return Slide.objects.visible_to(user)


def visible_annotations(user: User | None) -> QuerySet[Annotation]:
    return Annotation.objects.visible_to(user)


def visible_key_images(user: User | None) -> QuerySet[KeyImage]:
    return KeyImage.objects.visible_to(user)


def _denied(user: User | None, object_type: str, object_id: object, reason: str) -> NotFound:
    audit.denied(user, Action.READ, object_type=object_type, object_id=object_id, reason=reason)
    return NotFound(_("Slide not found"))


def get_slide(user: User, slide_id: int, *, audit_read: bool = True) -> Slide:
    """The slide in the user's scope (404 and a denied event otherwise). ``audit_read``
    False is for tiles: the opening of the slide was audited already."""
    slide = visible_slides(user).select_related("blob", "consultation").filter(pk=slide_id).first()
    if slide is None:
        raise _denied(user, "pathology_slide", slide_id, "not in scope")
    if audit_read:
        audit.record(
            user,
            Action.READ,
            object_type="pathology_slide",
            object_id=slide.pk,
            patient_id=slide.consultation.patient_id,
        )
    return slide


@dataclass(frozen=True)
class TileSource:
    """Where a slide's tiles come from: its file here, or (``edge_user_id`` set) the edge
    gateway that registered it, with the DeepZoom size to check addresses against."""

    source: str
    edge_user_id: int | None = None
    deepzoom_size: tuple[int, int] = (0, 0)


def tile_source(user: User, slide_id: int) -> TileSource:
    """A slide's ``source`` for serving its tiles: the same scope as ``get_slide`` in one
    light query (no row, no join), and not audited (the opening was)."""
    found = (
        visible_slides(user)
        .filter(pk=slide_id)
        .values_list(
            "sha256",
            "entry",
            "state",
            "failure_reason",
            "blob_id",
            "uploaded_by_id",
            "deepzoom_width",
            "deepzoom_height",
        )
        .first()
    )
    if found is None:
        raise _denied(user, "pathology_slide", slide_id, "not in scope")
    sha256, entry, state, reason, blob_id, edge_user_id, dz_width, dz_height = found
    source = f"{sha256}:{entry}" if entry else str(sha256)
    if state == SlideState.REGISTERED and blob_id is None:
        return TileSource(source, edge_user_id, (int(dz_width), int(dz_height)))
    check_available(state, reason)
    return TileSource(source)


def received_bytes(slide: Slide) -> int:
    """How much of a registered slide's file has reached the hub (its open uploads)."""
    from telemed.pathology.models import SlideUpload, UploadState

    offsets = (
        SlideUpload.objects.unscoped("upload progress of a slide the caller sees")
        .filter(slide_id=slide.pk, state=UploadState.OPEN)
        .values_list("offset", flat=True)
    )
    return max(offsets, default=0)


def check_available(state: str, reason: str) -> None:
    """Conflict with the reason while a slide's pixels cannot be served (still at the
    sending hospital, or failed)."""
    if state == SlideState.FAILED:
        raise Conflict(_("This slide failed: %(reason)s") % {"reason": reason})
    if state != SlideState.AVAILABLE:
        raise Conflict(_("This slide is registered; its file has not arrived yet."))


def may_see_label(user: User) -> bool:
    """The label carries the patient's name and numbers: not for external partners' experts."""
    institution = user.institution
    return not (
        user.role == Role.EXPERT
        and institution is not None
        and institution.tier == Tier.EXTERNAL_PARTNER
    )


def get_label_slide(user: User, slide_id: int) -> Slide:
    slide = get_slide(user, slide_id, audit_read=False)
    if not may_see_label(user):
        raise _denied(user, "pathology_slide_label", slide_id, "external partner expert")
    audit.record(
        user,
        Action.READ,
        object_type="pathology_slide_label",
        object_id=slide.pk,
        patient_id=slide.consultation.patient_id,
    )
    return slide


def case_slides(user: User, consultation_id: int) -> list[Slide]:
    """The slides of a case the user can see (the read of the case is audited)."""
    from telemed.consultations.workflow import access

    consultation = access(user, consultation_id)
    audit.record(
        user,
        Action.READ,
        object_type="consultation",
        object_id=consultation.pk,
        patient_id=consultation.patient_id,
        detail={"slides": True},
    )
    return list(visible_slides(user).filter(consultation=consultation).select_related("blob"))


def slide_annotations(user: User, slide_id: int) -> list[Annotation]:
    slide = get_slide(user, slide_id, audit_read=False)
    return list(visible_annotations(user).filter(slide=slide).select_related("author"))


def get_key_image(user: User, key_image_id: int) -> KeyImage:
    image = (
        visible_key_images(user)
        .select_related("slide__consultation", "blob")
        .filter(pk=key_image_id)
        .first()
    )
    if image is None:
        raise _denied(user, "pathology_key_image", key_image_id, "not in scope")
    audit.record(
        user,
        Action.READ,
        object_type="pathology_key_image",
        object_id=image.pk,
        patient_id=image.slide.consultation.patient_id,
    )
    return image
