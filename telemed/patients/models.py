"""The master patient index: one person, many institutions' record numbers, consents, and
the access grants that let assigned experts read a patient."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telemed.accounts.scoping import scope_for
from telemed.core import clock
from telemed.core.scoped import PatientDataQuerySet

if TYPE_CHECKING:
    from telemed.accounts.models import User


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class PatientQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        scope = scope_for(user)
        if scope.everything:
            return self.mark_scoped()
        if scope.is_empty:
            return self.none().mark_scoped()
        # IN (subquery) rather than a correlated EXISTS: the planner can then start from the
        # registrations of the few institutions in scope instead of probing every patient
        # (measured in bench/scoping.py: EXISTS was 2.4 times the hand-written join).
        condition = Q(pk__in=[])
        if scope.institution_ids:
            condition |= Q(
                pk__in=PatientRegistration.objects.filter(
                    institution_id__in=scope.institution_ids
                ).values("patient_id")
            )
        if scope.grantee_user_id:
            condition |= Q(
                pk__in=PatientAccessGrant.objects.active()
                .filter(user_id=scope.grantee_user_id)
                .values("patient_id")
            )
        if scope.patient_id:
            condition |= Q(pk=scope.patient_id)
        return self.filter(condition).mark_scoped()


class Patient(models.Model):
    mpi_id = models.UUIDField(
        _("master patient ID"), default=uuid.uuid4, unique=True, editable=False
    )
    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(_("name (pinyin)"), max_length=120, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("date of birth"))
    # Resident identity card number (居民身份证号): the strongest identifier, unique in the MPI.
    resident_id = models.CharField(
        _("resident ID number"), max_length=18, null=True, blank=True, unique=True
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # Set when a new record looked like an existing one that the creator could not see;
    # the MPI steward decides whether to merge.
    possible_duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["name", "birth_date"])]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return f"{self.name} ({self.birth_date:%Y-%m-%d})"


class ChildQuerySet(PatientDataQuerySet):
    """Rows that belong to a patient are visible exactly when their patient is."""

    def visible_to(self, user: User | None) -> Self:
        return self.filter(patient__in=Patient.objects.visible_to(user)).mark_scoped()


class PatientRegistration(models.Model):
    """The patient's record number (病案号) at one institution; registration is what puts a
    patient into that institution's scope."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="registrations")
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    record_number = models.CharField(_("record number"), max_length=40)
    registered_at = models.DateTimeField(default=clock.now, editable=False)
    registered_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "record_number"], name="record_number_per_institution"
            ),
            models.UniqueConstraint(
                fields=["institution", "patient"], name="one_registration_per_institution"
            ),
        ]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return f"{self.record_number} @ {self.institution_id}"


class ConsentKind(models.TextChoices):
    TELEMEDICINE = "telemedicine", _("Telemedicine")
    SHARE_EXTERNAL = "share_external", _("Sharing with outside experts")


class Consent(models.Model):
    """One recorded consent decision; the newest per kind is in force. Never edited."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(default=clock.now, editable=False)
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.kind}={'yes' if self.granted else 'no'}"


class GrantQuerySet(PatientDataQuerySet):
    def active(self) -> Self:
        moment = clock.now()
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=moment), revoked_at__isnull=True
        )


class PatientAccessGrant(models.Model):
    """Lets one user read one patient, for a reason (an assigned consultation, say).

    Written by the workflows that assign experts; revoked when the assignment ends.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="patient_grants"
    )
    reason = models.CharField(_("reason"), max_length=200)
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text="e.g. consultation:42"
    )
    granted_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "patient"])]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")

    def __str__(self) -> str:
        return f"user {self.user_id} -> patient {self.patient_id} ({self.source or self.reason})"
