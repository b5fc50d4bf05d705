"""Tables of the FHIR facade: the versions of each resource served (for vread, ETags and
If-Match), and the SMART scopes granted to each API client."""

from __future__ import annotations

from typing import Self

from django.db import models
from django.utils.translation import gettext_lazy as _

from telemed.core import clock
from telemed.core.scoped import PatientDataQuerySet


class ResourceVersionQuerySet(PatientDataQuerySet):
    def of_visible(self, resource_type: str, resource_id: str) -> Self:
        """The versions of one resource. Call only with the id of a resource the caller has
        just read through its type's scoped ``get`` (the versions hold its patient data)."""
        return self.filter(resource_type=resource_type, resource_id=resource_id).mark_scoped()

    def of_visible_many(self, resource_type: str, resource_ids: list[str]) -> Self:
        """As ``of_visible``, for the results of a scoped search."""
        return self.filter(resource_type=resource_type, resource_id__in=resource_ids).mark_scoped()


class ResourceVersion(models.Model):
    """One version of a served resource, as it was served.

    The platform's own models change through the workflow as well as through FHIR writes, so
    a new version is recorded whenever the resource as rendered differs from the last one
    recorded (on a write, and on the first read after a change elsewhere).
    """

    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    recorded_at = models.DateTimeField(default=clock.now)
    # SHA-256 of the canonical JSON without ``meta``: what "differs" means.
    content_hash = models.CharField(max_length=64)
    data = models.JSONField()

    objects = ResourceVersionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "resource_id", "version"], name="one_fhir_version"
            )
        ]
        verbose_name = _("FHIR resource version")
        verbose_name_plural = _("FHIR resource versions")

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.resource_id}/_history/{self.version}"


class ClientScopes(models.Model):
    """The SMART scopes (``system/Patient.rs``, ``system/*.cruds``) one API client holds on
    the FHIR API. A client without a row holds none."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="fhir_scopes"
    )
    scopes = models.TextField(_("scopes"), help_text=_("Space-separated SMART scopes"))
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("FHIR client scopes")
        verbose_name_plural = _("FHIR client scopes")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.scopes}"


class ExternalIdentifier(models.Model):
    """An identifier a hospital system gave a resource it created here (its HIS order
    number on a ServiceRequest), so that it can search by it and re-send a transaction
    with ``ifNoneExist`` without creating the consultation twice."""

    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    resource_type = models.CharField(max_length=40)
    system = models.CharField(max_length=200)
    value = models.CharField(max_length=200)
    resource_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "resource_type", "system", "value"],
                name="one_external_identifier",
            )
        ]
        indexes = [models.Index(fields=["resource_type", "resource_id"])]

    def __str__(self) -> str:
        return f"{self.system}|{self.value} -> {self.resource_type}/{self.resource_id}"
