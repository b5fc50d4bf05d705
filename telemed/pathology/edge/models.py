"""The edge gateway's table, in the edge's own small database: one row per slide file a
technician dropped, from the moment the edge has a verified copy in its own blob store
until the hub holds the file.

Only the edge writes it; the hub's database has the table too (one schema for one package)
but never a row in it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from telemed.core import clock


class EdgeState(models.TextChoices):
    # In the edge's store and read by OpenSlide; the hub has not taken it yet (it was
    # unreachable: registration is retried).
    STORED = "stored", _("Waiting to register")
    REGISTERED = "registered", _("Registered with the hub")
    UPLOADED = "uploaded", _("Uploaded")
    FAILED = "failed", _("Failed")


class EdgeSlide(models.Model):
    case_number = models.CharField(_("case number"), max_length=24)
    name = models.CharField(_("file name"), max_length=200)
    stain = models.CharField(_("stain"), max_length=64, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    entry = models.CharField(_("file in the archive"), max_length=500, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    state = models.CharField(
        _("state"), max_length=12, choices=EdgeState.choices, default=EdgeState.STORED
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    hub_slide_id = models.PositiveBigIntegerField(null=True, blank=True)
    hub_consultation_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Someone at the hub asked for the file now: sent outside the upload window.
    upload_now = models.BooleanField(default=False)
    # The last upload run: the offset it resumed from and the bytes it sent.
    resumed_from = models.PositiveBigIntegerField(default=0)
    sent_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case_number", "sha256"], name="edge_slide_once")
        ]
        verbose_name = _("edge slide")
        verbose_name_plural = _("edge slides")

    def __str__(self) -> str:
        return f"{self.case_number}/{self.name} ({self.state})"

    @property
    def source(self) -> str:
        return f"{self.sha256}:{self.entry}" if self.entry else self.sha256
