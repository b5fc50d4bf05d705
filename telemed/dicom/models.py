"""Tables of the dicom app: the remote DICOM nodes (PACS, modalities) allowed to call us."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from telemed.core import clock

# PS3.5 AE: up to 16 characters of the default repertoire, no backslash or control
# characters; leading and trailing spaces are not significant.
ae_title_validator = RegexValidator(
    r"\A[\x20-\x5b\x5d-\x7e]{1,16}\Z",
    _("An AE title is 1 to 16 printable characters, no backslash."),
)


class RemoteNode(models.Model):
    """A calling AE title (optionally tied to an address) and the institution it sends for.

    An association from an AE title with no enabled node is rejected; when a node names a
    host, only associations from that address match it. Everything the node stores belongs
    to its institution.
    """

    ae_title = models.CharField(_("AE title"), max_length=16, validators=[ae_title_validator])
    host = models.GenericIPAddressField(
        _("address"),
        null=True,
        blank=True,
        help_text=_("Leave empty to accept this AE title from any address."),
    )
    institution = models.ForeignKey(
        "directory.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("institution"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # An ECG cart at a clinic without an HIS feeding the platform is the site's registration
    # desk: its objects may register the patients they name, with the consent the site took.
    registers_patients = models.BooleanField(
        _("registers patients"),
        default=False,
        help_text=_(
            "ECGs this node sends for a patient ID not yet registered register the patient "
            "from the object (name, birth date, sex), with the site's statement that "
            "telemedicine consent was taken."
        ),
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["ae_title", "host"]
        constraints = [
            models.UniqueConstraint(fields=["ae_title", "host"], name="one_node_per_ae_and_host"),
            models.UniqueConstraint(
                fields=["ae_title"],
                condition=models.Q(host__isnull=True),
                name="one_any_address_node_per_ae",
            ),
        ]
        verbose_name = _("remote DICOM node")
        verbose_name_plural = _("remote DICOM nodes")

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host or '*'}"
