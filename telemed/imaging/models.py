"""The index of received studies: study, series and instance rows pointing at the stored
objects, and the link of a study to the consultations it is attached to.

An instance's bytes are the object exactly as received (a DICOM Part 10 file), stored once by
content in the blob store; the rows hold what queries (C-FIND, QIDO-RS) and the viewer need.
A study belongs to the institution that sent it and carries the patient as the DICOM header
named them; ``patient`` links it to the master patient index when the sending institution
has registered that patient under the same local ID.
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


class ImagingStudyQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        """The sending institution's staff (and, by region, managers, QC and supervisors)
        see its studies; anyone who can see a consultation sees the studies attached to it
        (the assigned expert, through the consultation's own scope)."""
        from telemed.consultations.models import Consultation

        scope = scope_for(user)
        if scope.everything:
            return self.mark_scoped()
        if scope.is_empty:
            return self.none().mark_scoped()
        condition = Q(
            pk__in=CaseStudy.objects.filter(
                consultation__in=Consultation.objects.visible_to(user)
            ).values("study_id")
        )
        if scope.institution_ids:
            condition |= Q(institution_id__in=scope.institution_ids)
        return self.filter(condition).mark_scoped()


class ImagingStudy(models.Model):
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="imaging_studies",
    )
    study_instance_uid = models.CharField(_("study instance UID"), max_length=64)
    # The patient as the sender's header named them.
    patient_dicom_id = models.CharField(_("patient ID"), max_length=64, db_index=True)
    patient_name = models.CharField(_("patient name"), max_length=324, blank=True)
    patient_birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    patient_sex = models.CharField(_("sex"), max_length=16, blank=True)
    study_date = models.DateField(_("study date"), null=True, blank=True, db_index=True)
    study_time = models.CharField(_("study time"), max_length=16, blank=True)
    accession_number = models.CharField(_("accession number"), max_length=16, blank=True)
    study_id = models.CharField(_("study ID"), max_length=16, blank=True)
    study_description = models.CharField(_("description"), max_length=64, blank=True)
    referring_physician_name = models.CharField(
        _("referring physician"), max_length=324, blank=True
    )
    modalities = models.CharField(_("modalities"), max_length=200, blank=True)
    series_count = models.PositiveIntegerField(_("series"), default=0)
    instance_count = models.PositiveIntegerField(_("instances"), default=0)
    calling_ae_title = models.CharField(_("sent by AE title"), max_length=16, blank=True)
    received_at = models.DateTimeField(_("received"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("last received"), default=clock.now, editable=False)

    objects = ImagingStudyQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "study_instance_uid"], name="one_study_per_institution"
            )
        ]
        indexes = [models.Index(fields=["study_instance_uid"])]
        verbose_name = _("imaging study")
        verbose_name_plural = _("imaging studies")

    def __str__(self) -> str:
        return f"{self.study_instance_uid} ({self.modalities or '?'})"

    @property
    def modality_list(self) -> list[str]:
        return [m for m in self.modalities.split("\\") if m]


class StudyChildQuerySet(PatientDataQuerySet):
    """Series and instances are visible exactly when their study is."""

    def visible_to(self, user: User | None) -> Self:
        return self.filter(study__in=ImagingStudy.objects.visible_to(user)).mark_scoped()


class ImagingSeries(models.Model):
    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(_("series instance UID"), max_length=64)
    modality = models.CharField(_("modality"), max_length=16)
    series_number = models.IntegerField(_("series number"), null=True, blank=True)
    series_description = models.CharField(_("description"), max_length=64, blank=True)
    body_part_examined = models.CharField(_("body part"), max_length=16, blank=True)
    series_date = models.DateField(_("series date"), null=True, blank=True)
    instance_count = models.PositiveIntegerField(_("instances"), default=0)
    received_at = models.DateTimeField(_("received"), default=clock.now, editable=False)

    objects = StudyChildQuerySet.as_manager()

    class Meta:
        ordering = ["series_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "series_instance_uid"], name="one_series_per_study"
            )
        ]
        indexes = [models.Index(fields=["series_instance_uid"])]
        verbose_name = _("imaging series")
        verbose_name_plural = _("imaging series")

    def __str__(self) -> str:
        return f"{self.modality} {self.series_number or ''} {self.series_instance_uid}"


class ImagingInstance(models.Model):
    # The study is repeated here so that one scoped filter and one unique constraint (an
    # SOP instance UID once per institution) need no join.
    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="instances")
    series = models.ForeignKey(ImagingSeries, on_delete=models.CASCADE, related_name="instances")
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    sop_instance_uid = models.CharField(_("SOP instance UID"), max_length=64)
    sop_class_uid = models.CharField(_("SOP class UID"), max_length=64)
    transfer_syntax_uid = models.CharField(_("transfer syntax UID"), max_length=64)
    instance_number = models.IntegerField(_("instance number"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    columns = models.PositiveIntegerField(_("columns"), null=True, blank=True)
    frame_count = models.PositiveIntegerField(_("frames"), default=1)
    bits_allocated = models.PositiveSmallIntegerField(_("bits allocated"), null=True, blank=True)
    samples_per_pixel = models.PositiveSmallIntegerField(_("samples per pixel"), default=1)
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    size = models.PositiveBigIntegerField(_("size in bytes"))
    # Where the pixel data sits in the stored file, found at ingest: the header before it is
    # read for metadata, and a native frame is a byte range, without reading the rest.
    pixel_data_tag_offset = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    pixel_data_offset = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # None when encapsulated (compressed frames in fragments).
    pixel_data_length = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received"), default=clock.now, editable=False)

    objects = StudyChildQuerySet.as_manager()

    class Meta:
        ordering = ["instance_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "sop_instance_uid"], name="one_instance_per_institution"
            )
        ]
        # DICOMweb addresses instances and series by UID alone (then applies the scope).
        indexes = [models.Index(fields=["sop_instance_uid"])]
        verbose_name = _("imaging instance")
        verbose_name_plural = _("imaging instances")

    def __str__(self) -> str:
        return self.sop_instance_uid


class CaseStudy(models.Model):
    """A received study attached to an imaging consultation (by the requester)."""

    consultation = models.ForeignKey(
        "consultations.Consultation", on_delete=models.CASCADE, related_name="imaging_studies"
    )
    study = models.ForeignKey(ImagingStudy, on_delete=models.PROTECT, related_name="cases")
    attached_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attached_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["attached_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "study"], name="study_once_per_case")
        ]
        verbose_name = _("attached study")
        verbose_name_plural = _("attached studies")

    def __str__(self) -> str:
        return f"{self.consultation_id} <- {self.study_id}"


class ImagingRequest(models.Model):
    """What the requester asked to be read: the modality and body part QC checks against."""

    consultation = models.OneToOneField(
        "consultations.Consultation", on_delete=models.CASCADE, related_name="imaging_request"
    )
    modality = models.CharField(_("requested modality"), max_length=16, blank=True)
    body_part = models.CharField(_("requested body part"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("imaging request")
        verbose_name_plural = _("imaging requests")

    def __str__(self) -> str:
        return f"{self.modality} {self.body_part}".strip()


class Pseudonym(models.Model):
    """A pseudonym the platform handed to a recipient institution (a replacement UID, or a
    patient's pseudonymous ID), and what it stands for, so that the recipient's viewer can
    address studies by the UIDs it was given. The pseudonyms themselves are derived (an HMAC
    keyed per recipient), so this table only serves the way back; a row is written the first
    time a pseudonym goes out."""

    class Kind(models.TextChoices):
        UID = "uid", _("UID")
        PATIENT = "patient", _("patient")

    recipient = models.ForeignKey(
        "directory.Institution", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=64)
    # A UID, or the patient key ("mpi:<patient>" or "<institution>:<patient ID as sent>").
    original = models.CharField(max_length=100)
    issued_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "value"], name="one_meaning_per_pseudonym"
            )
        ]
        verbose_name = _("pseudonym")
        verbose_name_plural = _("pseudonyms")

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
