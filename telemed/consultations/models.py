"""A consultation (会诊) and everything recorded on it: history, quality checks, signed
conclusions, attachments, messages, video sessions, feedback."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telemed.accounts.scoping import scope_for
from telemed.consultations.states import Kind, State, Urgency
from telemed.core import clock
from telemed.core.scoped import PatientDataQuerySet

if TYPE_CHECKING:
    from telemed.accounts.models import User


# Kinds that are claimed from a pool widen what an expert sees before any assignment (ECG:
# the waiting cases of the pools the expert is on duty in). Each takes the expert's user id
# and returns a condition on Consultation; register from the kind's AppConfig.ready.
_expert_visibility: list[Callable[[int], Q]] = []


def widen_expert_scope(condition: Callable[[int], Q]) -> None:
    if condition not in _expert_visibility:
        _expert_visibility.append(condition)


class ConsultationQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        """Requesters see their institution's cases; experts the cases assigned to them;
        managers, QC and supervisors the cases requested from or assigned to their region;
        a patient their own."""
        scope = scope_for(user)
        if scope.everything:
            return self.mark_scoped()
        if scope.is_empty:
            return self.none().mark_scoped()
        condition = Q(pk__in=[])
        if scope.institution_ids:
            condition |= Q(requesting_institution_id__in=scope.institution_ids)
            condition |= Q(assigned_institution_id__in=scope.institution_ids)
        if scope.grantee_user_id:
            condition |= Q(assigned_expert_id=scope.grantee_user_id)
            # An expert who signed a conclusion keeps reading the case after a reassignment.
            condition |= Q(
                pk__in=Conclusion.objects.filter(signed_by_id=scope.grantee_user_id).values(
                    "consultation_id"
                )
            )
            for widened in _expert_visibility:
                condition |= widened(scope.grantee_user_id)
        if scope.patient_id:
            condition |= Q(patient_id=scope.patient_id) & ~Q(state=State.DRAFT)
        return self.filter(condition).mark_scoped()


class Consultation(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.MULTIDISCIPLINARY
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.DRAFT, db_index=True
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="consultations"
    )
    requesting_institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="requested_consultations"
    )
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="requested_consultations"
    )
    clinical_summary = models.TextField(_("clinical summary"), blank=True)
    question = models.TextField(_("question for the expert"), blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    wanted_specialty = models.ForeignKey(
        "directory.Specialty",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("wanted department"),
    )
    wanted_expert = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("wanted expert"),
    )
    wanted_start = models.DateTimeField(_("wanted time"), null=True, blank=True)
    disease = models.ForeignKey(
        "directory.Disease",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suspected disease"),
    )
    consent_confirmed = models.BooleanField(_("patient consent confirmed"), default=False)

    # Triage and scheduling.
    assigned_institution = models.ForeignKey(
        "directory.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_consultations",
    )
    assigned_department = models.ForeignKey(
        "directory.Department", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_expert = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_consultations",
    )
    scheduled_start = models.DateTimeField(
        _("scheduled start"), null=True, blank=True, db_index=True
    )
    scheduled_end = models.DateTimeField(_("scheduled end"), null=True, blank=True)
    room = models.ForeignKey(
        "directory.ConsultationRoom",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations",
    )

    qc_round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "urgency"]),
            models.Index(fields=["assigned_expert", "state"]),
            models.Index(fields=["requesting_institution", "state"]),
        ]
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")

    def __str__(self) -> str:
        return self.number


class ChildQuerySet(PatientDataQuerySet):
    def visible_to(self, user: User | None) -> Self:
        return self.filter(consultation__in=Consultation.objects.visible_to(user)).mark_scoped()


class ConsultationEvent(models.Model):
    """The history: one row per transition (who, when, from, to, why)."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=clock.now)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=24)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("history entry")
        verbose_name_plural = _("history")

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} -> {self.to_state}"


class QualityCheck(models.Model):
    """One quality-control round: the checklist as answered, and the outcome."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="quality_checks"
    )
    round = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    checklist = models.JSONField(default=dict)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reasons = models.TextField(blank=True)
    at = models.DateTimeField(default=clock.now)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["round"]
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")

    def __str__(self) -> str:
        return f"QC round {self.round}: {self.outcome}"


class Conclusion(models.Model):
    """A signed conclusion. Never changed once signed: an amendment is a new version that
    points at the one it supersedes. ``signed_text`` is exactly what was signed and
    ``text_sha256`` its hash, so the signature can be checked at any time."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="conclusions"
    )
    version = models.PositiveSmallIntegerField()
    findings = models.TextField(_("findings"))
    diagnosis = models.TextField(_("diagnosis"))
    icd10_codes = models.JSONField(_("ICD-10 codes"), default=list)
    recommendations = models.TextField(_("recommendations"))
    amendment_reason = models.TextField(_("reason for amendment"), blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    signed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    signed_text = models.TextField()
    text_sha256 = models.CharField(max_length=64)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["version"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "version"], name="one_conclusion_version"
            )
        ]
        verbose_name = _("conclusion")
        verbose_name_plural = _("conclusions")

    def __str__(self) -> str:
        return f"conclusion v{self.version}"


class Attachment(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="attachments"
    )
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=clock.now)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """The case's thread: questions and answers between the people on the case."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    at = models.DateTimeField(default=clock.now)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"message {self.pk}"


class VideoSession(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="video_sessions"
    )
    room_name = models.CharField(max_length=80, unique=True)
    opened_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=clock.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at"]
        verbose_name = _("video session")
        verbose_name_plural = _("video sessions")

    def __str__(self) -> str:
        return self.room_name


class VideoJoin(models.Model):
    session = models.ForeignKey(VideoSession, on_delete=models.CASCADE, related_name="joins")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.user_id} joined {self.session_id}"


class Feedback(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="feedback"
    )
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    at = models.DateTimeField(default=clock.now)

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["at"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.rating}/5"


class AvailabilityWindow(models.Model):
    """When an expert takes consultations each week; free slots are these windows less the
    consultations already scheduled."""

    expert = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="availability"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text="0 = Monday")
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["expert", "weekday", "start"]
        verbose_name = _("availability window")
        verbose_name_plural = _("availability windows")

    def __str__(self) -> str:
        return f"{self.expert_id} {self.weekday} {self.start}-{self.end}"
