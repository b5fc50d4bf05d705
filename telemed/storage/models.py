"""One row per distinct content in the blob store.

A ``Blob`` is the content, shared by every record whose bytes are identical (the same PDF
attached twice is one Blob). ``content_type`` and ``original_name`` are those of the first
upload; a record that needs its own name or type keeps them on its own row and points here.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from telemed.core import clock

sha256_validator = RegexValidator(r"\A[0-9a-f]{64}\Z", _("64 lowercase hexadecimal characters"))


class Blob(models.Model):
    sha256 = models.CharField(
        _("SHA-256"), max_length=64, primary_key=True, validators=[sha256_validator]
    )
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_type = models.CharField(
        _("content type"), max_length=255, default="application/octet-stream"
    )
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("blob")
        verbose_name_plural = _("blobs")

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.size} bytes)"
