"""The consultation's states and urgencies (shared by every kind of case)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned to requester")
    ACCEPTED = "accepted", _("Accepted (awaiting triage)")
    ASSIGNED = "assigned", _("Assigned")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_SESSION = "in_session", _("In session")
    CONCLUDED = "concluded", _("Concluded")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECLINED = "declined", _("Declined (awaiting re-triage)")
    CANCELLED = "cancelled", _("Cancelled")


TERMINAL = frozenset({State.CLOSED, State.WITHDRAWN, State.CANCELLED})
# States in which a case has a signed conclusion (and only these).
SIGNED_STATES = frozenset({State.CONCLUDED, State.CLOSED})
# States in which the case is with an expert (the expert can read it and act on it).
WITH_EXPERT = frozenset({State.ASSIGNED, State.SCHEDULED, State.IN_SESSION})


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


# Sorting key: emergencies first.
URGENCY_RANK = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}


class Kind(models.TextChoices):
    MULTIDISCIPLINARY = "multidisciplinary", _("Multidisciplinary consultation")
    IMAGING = "imaging", _("Imaging diagnosis")
    PATHOLOGY = "pathology", _("Pathology diagnosis")
    ECG = "ecg", _("ECG diagnosis")
