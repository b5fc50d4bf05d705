"""The hub's writes for slides from an edge gateway: registration while the file is still at
the sending hospital, the file's arrival (verified against the registered SHA-256), its
failure with the reason, and an expert's "upload now".

A registered slide has no blob: the edge announced what OpenSlide read there (checked here
for sense and limits), the DeepZoom size its descriptor is built from, and a thumbnail
(decoded here before it is kept). Its tiles come through the relay until the file arrives.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.attachments import clean_name
from telemed.consultations.models import Consultation
from telemed.consultations.workflow import record_on_case
from telemed.core import clock
from telemed.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from telemed.pathology import queries, relay, services, slides
from telemed.pathology.models import Slide, SlideState
from telemed.storage import services as storage
from telemed.storage.base import Readable
from telemed.storage.errors import BlobTooLarge, DigestMismatch

if TYPE_CHECKING:
    from telemed.accounts.models import User

SHA256 = re.compile(r"^[0-9a-f]{64}$")
THUMBNAIL_MAX_BYTES = 1024 * 1024
THUMBNAIL_MAX_SIDE = 1024
MAX_LEVELS = 64


@dataclass(frozen=True)
class EdgeRegistration:
    """What an edge announces about a slide it read (see ``schemas.EdgeSlideIn``)."""

    case_number: str
    name: str
    sha256: str
    size: int
    vendor: str
    width: int
    height: int
    level_count: int
    deepzoom_width: int
    deepzoom_height: int
    tile_version: str
    thumbnail: bytes
    stain: str = ""
    entry: str = ""
    mpp_x: float | None = None
    mpp_y: float | None = None
    objective_power: float | None = None
    has_label: bool = False
    has_macro: bool = False


def _check(new: EdgeRegistration) -> None:
    if not SHA256.match(new.sha256):
        raise ValidationFailed(gettext("The sha256 is not a SHA-256 (64 hexadecimal digits)."))
    if new.tile_version != slides.TILE_VERSION:
        raise Conflict(
            gettext(
                "The edge makes tiles as %(edge)s and the hub as %(hub)s: update the edge "
                "gateway to the hub's version."
            )
            % {"edge": new.tile_version[:40], "hub": slides.TILE_VERSION}
        )
    limit = slides.max_bytes()
    if new.size > limit:
        raise BlobTooLarge(
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            details={"max_bytes": limit},
        )
    if new.size <= 0 or new.width <= 0 or new.height <= 0:
        raise ValidationFailed(gettext("The slide's size and dimensions must be positive."))
    pixels, most = new.width * new.height, slides.max_pixels()
    if pixels > most:
        raise slides.SlideTooLarge(
            gettext("The slide has %(pixels)s pixels; at most %(limit)s are accepted.")
            % {"pixels": pixels, "limit": most},
            details={"max_pixels": most},
        )
    if not (0 < new.deepzoom_width <= new.width and 0 < new.deepzoom_height <= new.height):
        raise ValidationFailed(gettext("The DeepZoom size must lie within the slide."))
    if not 1 <= new.level_count <= MAX_LEVELS:
        raise ValidationFailed(gettext("The slide's level count is not plausible."))
    if new.entry and (new.entry.startswith(("/", "\\")) or ".." in new.entry.split("/")):
        raise ValidationFailed(gettext("The archive entry's name is not a relative path."))


def _thumbnail(data: bytes) -> bytes:
    """The edge's thumbnail, if it is a small JPEG that decodes."""
    if not data or len(data) > THUMBNAIL_MAX_BYTES:
        raise ValidationFailed(gettext("The thumbnail must be a JPEG of at most 1 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG" or max(image.size) > THUMBNAIL_MAX_SIDE:
                raise ValidationFailed(
                    gettext("The thumbnail must be a JPEG of at most 1024 pixels a side.")
                )
            image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise ValidationFailed(gettext("The thumbnail does not decode.")) from error
    return data


def register_from_edge(actor: User, new: EdgeRegistration) -> tuple[Slide, bool]:
    """Register a slide whose file stays at the actor's edge for now: (the slide, whether it
    is new). The same content on the same case again answers the slide already there (an
    edge that lost its answer registers again); one that failed is registered afresh.
    404 for a case outside the actor's scope, 403 for anyone but a hospital system on the
    requesting side of an open case, 409 for another kind or other tile parameters."""
    if actor.role != Role.SYSTEM:
        raise PermissionDenied(
            gettext("Only a hospital's edge gateway (an API client) registers slides this way.")
        )
    _check(new)
    found = Consultation.objects.visible_to(actor).filter(number=new.case_number[:24]).first()
    if found is None:
        raise NotFound(
            gettext("There is no case %(number)s for this hospital.") % {"number": new.case_number}
        )
    services.check_may_add(actor, found)
    thumbnail = storage.store(
        io.BytesIO(_thumbnail(new.thumbnail)), content_type="image/jpeg", name="thumbnail.jpeg"
    )
    with transaction.atomic():
        case = (
            Consultation.objects.unscoped("row lock on a case just read in scope")
            .select_for_update()
            .get(pk=found.pk)
        )
        services.check_may_add(actor, case)
        existing = (
            Slide.objects.unscoped("duplicate check on a locked case")
            .filter(consultation=case, sha256=new.sha256)
            .first()
        )
        if existing is not None:
            if existing.state == SlideState.FAILED and existing.uploaded_by_id == actor.pk:
                existing.state, existing.failure_reason = SlideState.REGISTERED, ""
                existing.save(update_fields=["state", "failure_reason"])
                _on_case(actor, case, existing, "register_slide_again", Action.UPDATE)
            return existing, False
        slide = Slide.objects.create(
            consultation=case,
            institution_id=case.requesting_institution_id,
            blob=None,
            sha256=new.sha256,
            name=clean_name(new.name),
            entry=new.entry[:500],
            stain=new.stain.strip()[: services.STAIN_MAX],
            state=SlideState.REGISTERED,
            vendor=new.vendor[:32],
            width=new.width,
            height=new.height,
            level_count=new.level_count,
            mpp_x=new.mpp_x if new.mpp_x and new.mpp_x > 0 else None,
            mpp_y=new.mpp_y if new.mpp_y and new.mpp_y > 0 else None,
            objective_power=new.objective_power,
            has_label=new.has_label,
            has_macro=new.has_macro,
            size=new.size,
            uploaded_by=actor,
            registered_at=clock.now(),
            deepzoom_width=new.deepzoom_width,
            deepzoom_height=new.deepzoom_height,
            thumbnail_blob=thumbnail,
        )
        _on_case(actor, case, slide, "register_slide", Action.CREATE)
    return slide, True


def _on_case(actor: User | None, case: Consultation, slide: Slide, action: str, how: str) -> None:
    record_on_case(
        actor,
        case,
        action,
        audit_action=how,
        object_type="pathology_slide",
        object_id=slide.pk,
        detail={"slide": slide.pk, "name": slide.name, "sha256": slide.sha256, "at_edge": True},
        audit_detail={"sha256": slide.sha256, "size": slide.size, "state": slide.state},
    )


def _edge_slide(actor: User, slide_id: int) -> Slide:
    slide = queries.visible_slides(actor).filter(pk=slide_id).first()
    if slide is None:
        raise NotFound(gettext("Slide not found"))
    if slide.uploaded_by_id != actor.pk or not slide.at_edge:
        raise Conflict(gettext("This slide is not waiting for a file from this edge gateway."))
    return slide


def check_may_send(actor: User, slide_id: int, size: int) -> Slide:
    """Before a byte of an edge's upload: the slide is the actor's, still waiting, and the
    announced length is the registered one."""
    slide = _edge_slide(actor, slide_id)
    if size != slide.size:
        raise ValidationFailed(
            gettext("The file is %(got)s bytes; the slide was registered with %(size)s.")
            % {"got": size, "size": slide.size}
        )
    return slide


def receive_file(actor: User, slide_id: int, stream: Readable, declared_size: int) -> Slide:
    """The registered slide's whole file has arrived: hashed while stored and compared with
    the SHA-256 the edge registered, read by OpenSlide, and only then the slide becomes
    ``available`` with the hub's own copy. A refusal raises its reason (the caller marks the
    slide failed with it)."""
    slide = check_may_send(actor, slide_id, declared_size)
    try:
        blob, entry, info = services.take_file(
            stream, slide.name, declared_size=declared_size, expected_sha256=slide.sha256
        )
    except DigestMismatch as error:
        raise DigestMismatch(
            gettext(
                "The file that arrived does not match the SHA-256 the edge registered "
                "(%(sha256)s): it changed or was damaged at the sending hospital or on the way."
            )
            % {"sha256": slide.sha256}
        ) from error
    if entry != slide.entry or (info.width, info.height) != (slide.width, slide.height):
        raise ValidationFailed(
            gettext("The file that arrived does not read as the slide the edge registered.")
        )
    with transaction.atomic():
        locked = (
            Slide.objects.unscoped("row lock on a slide just read in scope")
            .select_for_update()
            .select_related("consultation")
            .get(pk=slide.pk)
        )
        if not locked.at_edge:
            raise Conflict(gettext("This slide is not waiting for a file any more."))
        locked.blob, locked.state, locked.failure_reason = blob, SlideState.AVAILABLE, ""
        locked.upload_requested_at = None
        locked.save(update_fields=["blob", "state", "failure_reason", "upload_requested_at"])
        _on_case(actor, locked.consultation, locked, "slide_arrived", Action.UPDATE)
    return locked


def fail(actor: User | None, slide_id: int, reason: str) -> None:
    """Mark a registered slide failed with the reason its file was refused (shown on the
    page and answered for its tiles)."""
    with transaction.atomic():
        locked = (
            Slide.objects.unscoped("marking a slide failed whose upload was refused")
            .select_for_update()
            .select_related("consultation")
            .filter(pk=slide_id)
            .first()
        )
        if locked is None or not locked.at_edge:
            return
        locked.state, locked.failure_reason = SlideState.FAILED, reason[:300]
        locked.save(update_fields=["state", "failure_reason"])
        _on_case(actor, locked.consultation, locked, "slide_failed", Action.UPDATE)


def upload_now(actor: User, slide_id: int) -> bool:
    """Someone who sees the slide asks its edge to send the file at once, outside its
    window: told now if the edge is connected (True), else when it reconnects."""
    slide = queries.get_slide(actor, slide_id, audit_read=False)
    if not slide.at_edge:
        raise Conflict(
            gettext("This slide's file is not waiting at the sending hospital (%(state)s).")
            % {"state": slide.get_state_display()}
        )
    with transaction.atomic():
        Slide.objects.unscoped("the request on a slide just read in scope").filter(
            pk=slide.pk
        ).update(upload_requested_at=clock.now())
        audit.record(
            actor,
            Action.UPDATE,
            object_type="pathology_slide",
            object_id=slide.pk,
            patient_id=slide.consultation.patient_id,
            detail={"upload_now": True},
        )
    assert slide.uploaded_by_id is not None
    try:
        return relay.tell_upload_now(slide.uploaded_by_id, slide.pk)
    except DomainError:
        return False
