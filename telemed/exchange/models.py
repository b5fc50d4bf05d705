"""Tables of the exchange hub: which member system is sending, every HL7 v2 message received
(the log that makes a resend idempotent), outbound subscriptions and their outbox.

The message log and the outbox hold patient data (the raw messages and the payloads), so
their querysets are ``PatientDataQuerySet``s scoped by the member system's institution.
"""

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


class MemberSystem(models.Model):
    """A member hospital's system (HIS, EMR) that talks HL7 v2 to the hub.

    Messages whose MSH-3 (sending application) and MSH-4 (sending facility) match are
    processed as ``service_user``, a role=system account of ``institution``, so a system meets
    the same scope and MPI rules as the institution's staff.
    """

    name = models.CharField(_("system name"), max_length=100)
    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    service_user = models.OneToOneField(
        "accounts.User", on_delete=models.PROTECT, related_name="member_system"
    )
    sending_application = models.CharField(_("sending application (MSH-3)"), max_length=180)
    sending_facility = models.CharField(_("sending facility (MSH-4)"), max_length=180)
    active = models.BooleanField(_("active"), default=True)
    accepts_orders = models.BooleanField(_("orders create consultation requests"), default=False)
    submit_orders = models.BooleanField(
        _("submit ordered consultations (otherwise keep them as drafts)"), default=False
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sending_application", "sending_facility"], name="one_member_per_sender"
            )
        ]
        verbose_name = _("member system")
        verbose_name_plural = _("member systems")

    def __str__(self) -> str:
        return f"{self.name} ({self.sending_application}/{self.sending_facility})"


class Outcome(models.TextChoices):
    """The acknowledgment code sent back (HL7 table 0008)."""

    ACCEPTED = "AA", _("Accepted")
    ERROR = "AE", _("Refused (application error)")
    REJECTED = "AR", _("Rejected (cannot be processed)")


class InstitutionScopedQuerySet(PatientDataQuerySet):
    """Rows belonging to a member system's institution: visible to whoever sees that
    institution's patients (its own staff, its region's managers and supervisors)."""

    institution_path = "member_system__institution_id"

    def visible_to(self, user: User | None) -> Self:
        scope = scope_for(user)
        if scope.everything:
            return self.mark_scoped()
        if not scope.institution_ids:
            return self.none().mark_scoped()
        return self.filter(
            Q(**{f"{self.institution_path}__in": scope.institution_ids})
        ).mark_scoped()


class InboundMessage(models.Model):
    """One HL7 v2 message as received, and what became of it.

    (sending application, control ID) is unique: a resend of an accepted or refused message
    is answered with the stored ACK and changes nothing. A rejected (AR) message was not
    processed, so a resend with the same control ID is processed again (after the sender's
    configuration or the message was fixed).
    """

    received_at = models.DateTimeField(_("received"), default=clock.now, db_index=True)
    member_system = models.ForeignKey(
        MemberSystem, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    sending_application = models.CharField(max_length=180)
    sending_facility = models.CharField(max_length=180, blank=True)
    control_id = models.CharField(_("control ID (MSH-10)"), max_length=199)
    message_type = models.CharField(_("message type"), max_length=20, blank=True)
    charset = models.CharField(_("character set"), max_length=20, blank=True)
    raw = models.TextField(_("message"))
    outcome = models.CharField(_("outcome"), max_length=2, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)
    ack = models.TextField(_("acknowledgment"))
    patient_id = models.BigIntegerField(_("patient ID"), null=True, blank=True)
    consultation_id = models.BigIntegerField(_("consultation ID"), null=True, blank=True)
    # An order's placer number (ORC-2): a cancel names the order by it.
    placer_number = models.CharField(_("placer order number"), max_length=80, blank=True)
    times_received = models.PositiveIntegerField(_("times received"), default=1)

    objects = InstitutionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sending_application", "control_id"], name="one_message_per_control_id"
            )
        ]
        indexes = [models.Index(fields=["member_system", "placer_number"])]
        verbose_name = _("HL7 message")
        verbose_name_plural = _("HL7 messages")

    def __str__(self) -> str:
        return f"{self.sending_application} {self.control_id} {self.message_type} {self.outcome}"


class Transport(models.TextChoices):
    REST_HOOK = "rest-hook", _("FHIR rest-hook (HTTP POST)")
    MLLP = "mllp", _("HL7 v2 ORU^R01 over MLLP")


class Subscription(models.Model):
    """Where a member system wants signed conclusions of the cases its institution requested
    delivered: a FHIR rest-hook URL, or an MLLP host:port for ORU^R01."""

    member_system = models.ForeignKey(
        MemberSystem, on_delete=models.PROTECT, related_name="subscriptions"
    )
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    endpoint = models.CharField(
        _("endpoint"), max_length=300, help_text=_("An http(s) URL, or host:port for MLLP")
    )
    authorization = models.CharField(
        _("Authorization header"), max_length=300, blank=True, help_text=_("Rest-hook only")
    )
    receiving_application = models.CharField(_("receiving application"), max_length=180, blank=True)
    receiving_facility = models.CharField(_("receiving facility"), max_length=180, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.member_system.name}: {self.transport} {self.endpoint}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead letter")


class OutboxQuerySet(InstitutionScopedQuerySet):
    institution_path = "subscription__member_system__institution_id"


class OutboundMessage(models.Model):
    """One event to deliver to one subscription; written once per (subscription, event).

    ``payload`` is built when the row is written and never changes, so every attempt sends
    the same bytes with the same ``idempotency_key`` (HTTP header, MSH-10), and a receiver
    can drop the repeats that at-least-once delivery allows.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="outbox")
    event_key = models.CharField(_("event"), max_length=80)
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True)
    consultation_id = models.BigIntegerField(_("consultation ID"))
    conclusion_id = models.BigIntegerField(_("conclusion ID"), null=True, blank=True)
    payload = models.TextField(_("payload"))
    content_type = models.CharField(max_length=60)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=clock.now)
    # A runner holds a row it is sending until this time; a runner that died mid-send lets
    # the lease lapse and another sends again (the receiver drops the repeat by its key).
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_key"], name="one_delivery_per_event"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")

    def __str__(self) -> str:
        return f"{self.event_key} -> {self.subscription_id} ({self.state})"


class AttemptQuerySet(InstitutionScopedQuerySet):
    institution_path = "message__subscription__member_system__institution_id"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per attempt, with what the receiver answered."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("time"), default=clock.now)
    succeeded = models.BooleanField(_("succeeded"))
    status = models.CharField(_("status"), max_length=40, blank=True)
    response = models.TextField(_("response"), blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"#{self.number} {self.status}"


class CodeKind(models.TextChoices):
    """What a local code names, and the standard it is mapped to."""

    DIAGNOSIS = "diagnosis", _("Diagnosis (ICD-10)")
    TEST = "test", _("Test (LOINC)")
    DRUG = "drug", _("Drug (drug code list)")
    UNIT = "unit", _("Unit (UCUM)")


class CodeMapping(models.Model):
    """One institution's local code (or name) for a diagnosis, test, drug or unit, and the
    standard one it means. Units carry a conversion: standard = local * factor + offset
    (``mg/dl`` -> ``mg/dL`` is factor 1; ``g/L`` -> ``g/dL`` is factor 0.1)."""

    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CodeKind.choices)
    local_code = models.CharField(_("local code"), max_length=100)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    standard_code = models.CharField(_("standard code"), max_length=40)
    standard_name = models.CharField(_("standard name"), max_length=200, blank=True)
    factor = models.FloatField(_("conversion factor"), default=1.0)
    offset = models.FloatField(_("conversion offset"), default=0.0)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "kind", "local_code"], name="one_mapping_per_local_code"
            )
        ]
        verbose_name = _("code mapping")
        verbose_name_plural = _("code mappings")

    def __str__(self) -> str:
        return f"{self.kind} {self.local_code} -> {self.standard_code}"


class UnmappedCode(models.Model):
    """A local code met at the border with no mapping yet, queued for an operator. The data
    that carried it is kept as sent (in the message log and, as text, on the record made);
    mapping the code resolves the entry."""

    institution = models.ForeignKey(
        "directory.Institution", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CodeKind.choices)
    local_code = models.CharField(_("local code"), max_length=100)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=clock.now)
    last_seen = models.DateTimeField(_("last seen"), default=clock.now)
    times_seen = models.PositiveIntegerField(_("times seen"), default=1)
    example = models.CharField(_("seen in"), max_length=200, blank=True)
    mapping = models.ForeignKey(
        CodeMapping, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("mapped"), null=True, blank=True)

    class Meta:
        ordering = ["resolved_at", "-times_seen", "-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "kind", "local_code"], name="one_queue_entry_per_code"
            )
        ]
        verbose_name = _("unmapped code")
        verbose_name_plural = _("unmapped codes")

    def __str__(self) -> str:
        return f"{self.kind} {self.local_code} ({self.institution_id})"
