"""Tables of the pathology app: whole-slide images on a pathology case, and what the experts
draw on them.

A slide belongs to the requesting institution and to one consultation of kind
``pathology``. Its file is stored once by content in the blob store; the row keeps what the
viewer and QC need (vendor, dimensions, levels, the physical pixel size). A slide row exists
only once OpenSlide has read the file: registration refuses anything it cannot read, so
there is no half-registered slide.

A slide from an edge gateway (``telemed edge`` at the sending hospital) is ``registered``
first: the edge read it with OpenSlide and announced its metadata, DeepZoom size,
thumbnail and SHA-256, and the file itself is still there, so there is no blob yet and the
hub relays its tiles from the edge. When the whole file has arrived and hashes to the
announced SHA-256 it becomes ``available`` with the hub's own copy; otherwise ``failed``
with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telemed.accounts.scoping import scope_for
from telemed.core import clock
from telemed.core.scoped import PatientDataQuerySet

if TYPE_CHECKING:
    from telemed.accounts.models import User


class SlideState(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    AVAILABLE = "available", _("Available")
    FAILED = "failed", _("Failed")


class SlideQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        """The requesting institution's staff, regional staff over it, and whoever sees the
        slide's case (the assigned expert, through the consultation's own scope)."""
        from telemed.consultations.models import Consultation

        scope = scope_for(user)
        if scope.everything:
            return self.mark_scoped()
        if scope.is_empty:
            return self.none().mark_scoped()
        condition = Q(consultation__in=Consultation.objects.visible_to(user))
        if scope.institution_ids:
            condition |= Q(institution_id__in=scope.institution_ids)
        return self.filter(condition).mark_scoped()


class Slide(models.Model):
    consultation = models.ForeignKey(
        "consultations.Consultation", on_delete=models.PROTECT, related_name="slides"
    )
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    # None while the file is still at the sending edge (``registered``).
    blob = models.ForeignKey(
        "storage.Blob", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The content's SHA-256: the blob's address once the file is here, the edge's announced
    # checksum before (what the arriving file is verified against).
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    name = models.CharField(_("file name"), max_length=200)
    # For a zipped slide (MIRAX, DICOM WSI): the main file inside the archive.
    entry = models.CharField(_("file in the archive"), max_length=500, blank=True)
    stain = models.CharField(_("stain"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=SlideState.choices, default=SlideState.REGISTERED
    )
    failure_reason = models.CharField(_("reason"), max_length=300, blank=True)
    vendor = models.CharField(_("format"), max_length=32, blank=True)
    width = models.PositiveBigIntegerField(_("width"), default=0)
    height = models.PositiveBigIntegerField(_("height"), default=0)
    level_count = models.PositiveSmallIntegerField(_("levels"), default=0)
    mpp_x = models.FloatField(_("µm per pixel (x)"), null=True, blank=True)
    mpp_y = models.FloatField(_("µm per pixel (y)"), null=True, blank=True)
    objective_power = models.FloatField(_("objective power"), null=True, blank=True)
    has_label = models.BooleanField(_("label image"), default=False)
    has_macro = models.BooleanField(_("macro image"), default=False)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    uploaded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered"), default=clock.now, editable=False)
    # Edge slides: the DeepZoom image size (the slide's bounds) the descriptor is built from
    # while the file is away, the thumbnail the edge sent, and when someone last asked the
    # edge to upload at once (told again when the edge reconnects, until the file arrives).
    deepzoom_width = models.PositiveBigIntegerField(default=0)
    deepzoom_height = models.PositiveBigIntegerField(default=0)
    thumbnail_blob = models.ForeignKey(
        "storage.Blob", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    upload_requested_at = models.DateTimeField(null=True, blank=True)

    objects = SlideQuerySet.as_manager()

    class Meta:
        ordering = ["registered_at", "pk"]
        verbose_name = _("slide")
        verbose_name_plural = _("slides")

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor or '?'})"

    @property
    def source(self) -> str:
        """What ``telemed.pathology.slides`` opens: the blob, or the entry inside it (for
        a registered slide only a cache key: the file is at the edge)."""
        return f"{self.sha256}:{self.entry}" if self.entry else str(self.sha256)

    @property
    def at_edge(self) -> bool:
        return self.state == SlideState.REGISTERED and self.blob_id is None

    @property
    def pixels(self) -> int:
        return int(self.width) * int(self.height)


class SlideChildQuerySet(PatientDataQuerySet):
    """Annotations and key images are visible exactly when their slide is."""

    def visible_to(self, user: User | None) -> Self:
        return self.filter(slide__in=Slide.objects.visible_to(user)).mark_scoped()


class AnnotationKind(models.TextChoices):
    POINT = "point", _("Point")
    ARROW = "arrow", _("Arrow")
    RECTANGLE = "rectangle", _("Rectangle")
    ELLIPSE = "ellipse", _("Ellipse")
    FREEHAND = "freehand", _("Free hand")
    DISTANCE = "distance", _("Distance")
    AREA = "area", _("Area")


class Annotation(models.Model):
    """A mark on a slide. ``geometry`` is in level-0 slide pixels: ``{"points": [[x, y],
    ...]}`` (a rectangle or ellipse by two opposite corners of its box)."""

    slide = models.ForeignKey(Slide, on_delete=models.CASCADE, related_name="annotations")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=AnnotationKind.choices)
    geometry = models.JSONField(_("geometry"))
    label = models.CharField(_("label"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)

    objects = SlideChildQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("annotation")
        verbose_name_plural = _("annotations")

    def __str__(self) -> str:
        return f"{self.kind} on {self.slide_id}"


class KeyImage(models.Model):
    """A region of a slide rendered to a JPEG for the report (OpenSlide ``read_region``)."""

    slide = models.ForeignKey(Slide, on_delete=models.CASCADE, related_name="key_images")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    # The region in level-0 pixels.
    x = models.PositiveBigIntegerField()
    y = models.PositiveBigIntegerField()
    width = models.PositiveBigIntegerField()
    height = models.PositiveBigIntegerField()
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)

    objects = SlideChildQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("key image")
        verbose_name_plural = _("key images")

    def __str__(self) -> str:
        return f"key image {self.pk} of {self.slide_id}"


class UploadState(models.TextChoices):
    OPEN = "open", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SlideUploadQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        """Only its uploader sees an upload, and only while they still see its case."""
        from telemed.consultations.models import Consultation

        if user is None or not user.is_authenticated:
            return self.none().mark_scoped()
        return self.filter(
            uploader=user, consultation__in=Consultation.objects.visible_to(user)
        ).mark_scoped()


class SlideUpload(models.Model):
    """A resumable (tus) upload of a slide file; its bytes so far lie under var/ until the
    last chunk arrives, then the file is verified, stored and registered as a ``Slide``."""

    id = models.UUIDField(primary_key=True, editable=False)
    consultation = models.ForeignKey(
        "consultations.Consultation", on_delete=models.CASCADE, related_name="+"
    )
    uploader = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("file name"), max_length=200)
    stain = models.CharField(_("stain"), max_length=64, blank=True)
    length = models.PositiveBigIntegerField(_("size in bytes"))
    offset = models.PositiveBigIntegerField(default=0)
    expected_sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=UploadState.choices, default=UploadState.OPEN)
    failure_reason = models.CharField(_("reason"), max_length=300, blank=True)
    slide = models.ForeignKey(
        Slide, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    objects = SlideUploadQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("slide upload")
        verbose_name_plural = _("slide uploads")

    def __str__(self) -> str:
        return f"{self.name} {self.offset}/{self.length}"


# The edge gateway's own table (used only in the edge role, in the edge's own database).
from telemed.pathology.edge.models import EdgeSlide  # noqa: E402, F401
