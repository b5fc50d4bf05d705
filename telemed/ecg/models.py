"""Tables of the ecg app: the recording on an ECG case, its original files, the structured
part of its signed report, and the pools' duty rosters and escalation routes.

The pools themselves are ``directory.ExpertPool`` (service ``ecg``); an ECG case is a
``consultations.Consultation`` of kind ``ecg``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from telemed.consultations.models import Consultation
from telemed.core import clock
from telemed.core.scoped import PatientDataQuerySet

if TYPE_CHECKING:
    from telemed.accounts.models import User


class DutyShift(models.Model):
    """One expert on duty for one pool from ``starts_at`` until ``ends_at``. An on-duty
    expert sees the pool's waiting ECGs, is pushed new ones, and may claim them."""

    pool = models.ForeignKey(
        "directory.ExpertPool", on_delete=models.CASCADE, related_name="ecg_shifts"
    )
    expert = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="ecg_shifts")
    starts_at = models.DateTimeField(_("on duty from"))
    ends_at = models.DateTimeField(_("on duty until"))

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["expert", "ends_at"]),
            models.Index(fields=["pool", "ends_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="ecg_shift_ends_after_start"
            )
        ]
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty roster")

    def __str__(self) -> str:
        return f"{self.expert_id} on {self.pool_id} {self.starts_at:%Y-%m-%d %H:%M}"


class PoolEscalation(models.Model):
    """Where a pool's ECGs go when nobody claims them in ``ECG_ESCALATE_MINUTES``."""

    pool = models.OneToOneField(
        "directory.ExpertPool", on_delete=models.CASCADE, related_name="ecg_escalation"
    )
    escalate_to = models.ForeignKey(
        "directory.ExpertPool",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("escalation pool"),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(escalate_to=F("pool")), name="ecg_escalates_elsewhere"
            )
        ]
        verbose_name = _("escalation route")
        verbose_name_plural = _("escalation routes")

    def __str__(self) -> str:
        return f"{self.pool_id} -> {self.escalate_to_id}"


class RecordingQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        return self.filter(consultation__in=Consultation.objects.visible_to(user)).mark_scoped()


class EcgRecording(models.Model):
    """The tracing of one ECG case, as converted on intake, with its automated analysis.

    ``samples`` is a blob of little-endian int32 microvolts, lead after lead
    (``len(leads)`` runs of ``n_samples``), so a window of one lead is one byte range.
    """

    consultation = models.OneToOneField(
        Consultation, on_delete=models.CASCADE, related_name="ecg_recording"
    )
    pool = models.ForeignKey("directory.ExpertPool", on_delete=models.PROTECT, related_name="+")
    escalated_to = models.ForeignKey(
        "directory.ExpertPool", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    source_format = models.CharField(_("format"), max_length=10)
    sampling_rate = models.FloatField(_("sampling rate (Hz)"))
    leads = models.JSONField(_("leads"), default=list)
    n_samples = models.PositiveIntegerField()
    samples = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    analysis = models.JSONField(_("automated analysis"), default=dict)
    critical = models.BooleanField(_("critical"), default=False)
    source_meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-critical", "created_at"]
        verbose_name = _("ECG recording")
        verbose_name_plural = _("ECG recordings")

    def __str__(self) -> str:
        return f"ECG of {self.consultation_id}"

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate if self.sampling_rate else 0.0


class ChildQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        return self.filter(
            recording__consultation__in=Consultation.objects.visible_to(user)
        ).mark_scoped()


class EcgSourceFile(models.Model):
    """An original file as it arrived (kept byte for byte in the blob store)."""

    recording = models.ForeignKey(EcgRecording, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(_("file name"), max_length=200)
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("original file")
        verbose_name_plural = _("original files")

    def __str__(self) -> str:
        return self.name


class EcgReport(models.Model):
    """The structured part of a signed ECG report: the phrases clicked and the measurements
    as the expert confirmed or corrected them. The signed text is the ``Conclusion``."""

    recording = models.ForeignKey(EcgRecording, on_delete=models.CASCADE, related_name="reports")
    conclusion = models.OneToOneField(
        "consultations.Conclusion", on_delete=models.PROTECT, related_name="ecg_report"
    )
    phrases = models.JSONField(_("phrases"), default=list)
    measurements = models.JSONField(_("measurements"), default=dict)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("ECG report")
        verbose_name_plural = _("ECG reports")

    def __str__(self) -> str:
        return f"report {self.conclusion_id}"
