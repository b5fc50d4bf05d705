"""People who sign in, their roles, and the API clients of hospital systems."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REQUESTING_DOCTOR = "requesting_doctor", _("Requesting doctor")
    EXPERT = "expert", _("Expert")
    QUALITY_CONTROL = "quality_control", _("Quality control")
    CONSULTATION_MANAGER = "consultation_manager", _("Consultation manager")
    PHARMACIST = "pharmacist", _("Pharmacist")
    EDUCATION_MANAGER = "education_manager", _("Education manager")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")
    PATIENT = "patient", _("Patient")
    SYSTEM = "system", _("Hospital system (API client)")


# Roles whose accounts must prove a second factor (TOTP) unless the setting turns it off.
SECOND_FACTOR_ROLES = frozenset({Role.EXPERT, Role.CONSULTATION_MANAGER, Role.ADMINISTRATOR})


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    institution = models.ForeignKey(
        "directory.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("institution"),
    )
    practitioner = models.OneToOneField(
        "directory.Practitioner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="user",
        verbose_name=_("practitioner"),
    )
    patient = models.OneToOneField(
        "patients.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account",
        verbose_name=_("patient record"),
    )
    # A supervisor oversees one region (a city) or the whole province.
    supervised_region = models.ForeignKey(
        "directory.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervisors",
        verbose_name=_("supervised region"),
    )
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_full_name(self) -> str:
        """Chinese names read family name first, with no space (李县医); others given name first."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    @property
    def needs_second_factor(self) -> bool:
        return self.role in SECOND_FACTOR_ROLES


class ApiClient(models.Model):
    """An OAuth2 client-credentials client acting for one institution's system (HIS, PACS).

    Its tokens act as ``service_user``, a role=system account of that institution, so the
    same scoping applies to a hospital system as to the institution's own staff.
    """

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="telemed_client"
    )
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="api_clients"
    )
    service_user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_client")
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.application.name} ({self.institution.code})"
