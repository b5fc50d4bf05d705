"""Every write of the pathology app: registering a slide on a case, annotations, key images.

A slide is streamed into the blob store first (never whole in memory, refused past
``PATHOLOGY_MAX_BYTES``), then read by OpenSlide from there, and only when it reads is the
row written, with the case's history entry and the audit event, in one transaction. A
refused file leaves at most an unreferenced blob, which is harmless and collectable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.attachments import clean_name, may_attach
from telemed.consultations.models import Consultation
from telemed.consultations.states import TERMINAL, Kind
from telemed.consultations.workflow import access, record_on_case
from telemed.core import clock
from telemed.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from telemed.pathology import archives, geometry, queries, slides
from telemed.pathology.models import Annotation, KeyImage, Slide, SlideState
from telemed.storage import services as storage
from telemed.storage.base import Readable
from telemed.storage.errors import BlobTooLarge
from telemed.storage.models import Blob

if TYPE_CHECKING:
    from telemed.accounts.models import User

STAIN_MAX = 64


def check_may_add(actor: User, consultation: Consultation) -> None:
    """A pathology case that the actor may add slides to (409 for another kind, 403 for
    someone not on it or a case that is over)."""
    if consultation.kind != Kind.PATHOLOGY:
        raise Conflict(
            gettext("Consultation %(number)s is not a pathology case: slides go on those.")
            % {"number": consultation.number}
        )
    if not may_attach(actor, consultation):
        audit.denied(
            actor,
            Action.CREATE,
            object_type="pathology_slide",
            object_id=consultation.pk,
            reason="not the requesting side or the assigned expert, or the case is over",
        )
        raise PermissionDenied(
            gettext("Only the requesting side and the assigned expert add slides to an open case.")
        )


def take_file(
    stream: Readable,
    display_name: str,
    *,
    declared_size: int | None = None,
    expected_sha256: str | None = None,
) -> tuple[Blob, str, slides.SlideInfo]:
    """Stream a slide file into the blob store and read it with OpenSlide (unpacking a
    zipped one), returning the blob, the main entry of an archive and what OpenSlide read:
    413 over the size or pixel limit, 415 for a format OpenSlide does not
    read, 422 for a damaged or incomplete file or one not hashing to ``expected_sha256``."""
    limit = slides.max_bytes()
    if declared_size is not None and declared_size > limit:
        raise BlobTooLarge(
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            details={"max_bytes": limit},
        )
    blob = storage.store(
        stream,
        content_type="application/octet-stream",
        name=display_name,
        max_bytes=limit,
        expected_sha256=expected_sha256,
    )
    if blob.size == 0:
        raise ValidationFailed(gettext("The file is empty."))
    if declared_size is not None and blob.size != declared_size:
        raise ValidationFailed(
            gettext("The upload was incomplete: %(got)s of %(declared)s bytes arrived.")
            % {"got": blob.size, "declared": declared_size},
        )
    path, entry = slides.local_path(blob.sha256), ""
    if archives.is_zip(path):
        # MIRAX and DICOM WSI come zipped: checked entry by entry, unpacked once.
        entry = archives.main_entry(archives.extract(blob.sha256, path))
        path = archives.entry_path(blob.sha256, path, entry)
    return blob, entry, slides.inspect(path)


def register_slide(
    actor: User,
    consultation_id: int,
    stream: Readable,
    name: str,
    *,
    declared_size: int | None = None,
    stain: str = "",
    expected_sha256: str | None = None,
) -> Slide:
    """Stream a slide file onto a pathology case and register it. 404 outside the actor's
    scope, 403 for someone not on the case, 409 for a case of another kind, 413 over the
    size or pixel limit, 415 for a format OpenSlide does not read, 422 for a damaged file
    (or one that does not hash to ``expected_sha256``)."""
    consultation = access(actor, consultation_id)
    check_may_add(actor, consultation)
    stain = stain.strip()[:STAIN_MAX]
    display_name = clean_name(name)
    blob, entry, info = take_file(
        stream, display_name, declared_size=declared_size, expected_sha256=expected_sha256
    )
    with transaction.atomic():
        locked = (
            Consultation.objects.unscoped("row lock on a case just read in scope")
            .select_for_update()
            .get(pk=consultation.pk)
        )
        check_may_add(actor, locked)
        if (
            Slide.objects.unscoped("duplicate check on a locked case")
            .filter(consultation=locked, sha256=blob.sha256)
            .exists()
        ):
            raise Conflict(gettext("This slide is already on the case."))
        slide = Slide.objects.create(
            consultation=locked,
            institution_id=locked.requesting_institution_id,
            blob=blob,
            sha256=blob.sha256,
            name=display_name,
            entry=entry,
            stain=stain,
            state=SlideState.AVAILABLE,
            vendor=info.vendor,
            width=info.width,
            height=info.height,
            level_count=info.level_count,
            mpp_x=info.mpp_x,
            mpp_y=info.mpp_y,
            objective_power=info.objective_power,
            has_label=info.has_label,
            has_macro=info.has_macro,
            size=blob.size,
            uploaded_by=actor,
            registered_at=clock.now(),
        )
        record_on_case(
            actor,
            locked,
            "attach_slide",
            audit_action=Action.CREATE,
            object_type="pathology_slide",
            object_id=slide.pk,
            at=slide.registered_at,
            detail={"slide": slide.pk, "name": display_name, "sha256": blob.sha256},
            audit_detail={"sha256": blob.sha256, "size": blob.size, "vendor": info.vendor},
        )
    return slide


# -- annotations -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAnnotation:
    kind: str
    points: Any
    label: str = ""


def _check_open(slide: Slide) -> None:
    if slide.consultation.state in TERMINAL:
        raise Conflict(
            gettext("Consultation %(number)s is over: its slides can no longer be marked.")
            % {"number": slide.consultation.number}
        )


def annotate(actor: User, slide_id: int, new: NewAnnotation) -> Annotation:
    """Draw on a slide the actor can see, while its case is open (everyone who sees the
    case sees every annotation)."""
    slide = queries.get_slide(actor, slide_id, audit_read=False)
    _check_open(slide)
    points = geometry.clean_points(new.kind, new.points, int(slide.width), int(slide.height))
    with transaction.atomic():
        annotation = Annotation.objects.create(
            slide=slide,
            author=actor,
            kind=new.kind,
            geometry={"points": points},
            label=new.label.strip()[:200],
            created_at=clock.now(),
        )
        audit.record(
            actor,
            Action.CREATE,
            object_type="pathology_annotation",
            object_id=annotation.pk,
            patient_id=slide.consultation.patient_id,
            detail={"slide": slide.pk, "kind": new.kind},
        )
    return annotation


def delete_annotation(actor: User, annotation_id: int) -> None:
    """Remove one of your own annotations (403 for someone else's, 404 out of scope)."""
    with transaction.atomic():
        annotation = (
            queries.visible_annotations(actor)
            .select_related("slide__consultation")
            .select_for_update(of=("self",))
            .filter(pk=annotation_id)
            .first()
        )
        if annotation is None:
            audit.denied(
                actor,
                Action.DELETE,
                object_type="pathology_annotation",
                object_id=annotation_id,
                reason="not in scope",
            )
            raise NotFound(gettext("Annotation not found"))
        if annotation.author_id != actor.pk:
            raise PermissionDenied(gettext("Only its author can delete an annotation."))
        _check_open(annotation.slide)
        audit.record(
            actor,
            Action.DELETE,
            object_type="pathology_annotation",
            object_id=annotation.pk,
            patient_id=annotation.slide.consultation.patient_id,
            detail={"slide": annotation.slide_id, "kind": annotation.kind},
        )
        annotation.delete()


# -- key images --------------------------------------------------------------------------


def take_key_image(
    actor: User, slide_id: int, x: int, y: int, width: int, height: int, caption: str = ""
) -> KeyImage:
    """Render a level-0 region of the slide for the report and keep it on the slide."""
    slide = queries.get_slide(actor, slide_id, audit_read=False)
    _check_open(slide)
    if width <= 0 or height <= 0 or x < 0 or y < 0:
        raise ValidationFailed(gettext("The region needs a positive size inside the slide."))
    if x + width > slide.width or y + height > slide.height:
        raise ValidationFailed(
            gettext("The region is outside the slide (%(w)s x %(h)s pixels).")
            % {"w": slide.width, "h": slide.height}
        )
    if slide.at_edge:
        from telemed.pathology import relay

        data = relay.region(slide.uploaded_by_id, slide.source, (x, y, width, height))
    else:
        queries.check_available(slide.state, slide.failure_reason)
        data = slides.region(slide.source, x, y, width, height)
    blob = storage.store(io.BytesIO(data), content_type="image/jpeg", name="key-image.jpeg")
    with transaction.atomic():
        image = KeyImage.objects.create(
            slide=slide,
            author=actor,
            blob=blob,
            x=x,
            y=y,
            width=width,
            height=height,
            caption=caption.strip()[:200],
            created_at=clock.now(),
        )
        audit.record(
            actor,
            Action.CREATE,
            object_type="pathology_key_image",
            object_id=image.pk,
            patient_id=slide.consultation.patient_id,
            detail={"slide": slide.pk, "region": [x, y, width, height]},
        )
    return image
