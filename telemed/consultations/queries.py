"""Scoped reads of consultations: worklists, queues, the case itself. Reads of a case are
audited here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Consultation
from telemed.consultations.states import State, Urgency
from telemed.consultations.workflow import CASE_RELATED, access
from telemed.core import clock

if TYPE_CHECKING:
    from telemed.accounts.models import User


def visible(user: User) -> QuerySet[Consultation]:
    return Consultation.objects.visible_to(user).select_related(*CASE_RELATED)


def urgent_first(consultations: QuerySet[Consultation]) -> QuerySet[Consultation]:
    rank = Case(
        When(urgency=Urgency.EMERGENCY, then=Value(0)),
        When(urgency=Urgency.URGENT, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return consultations.annotate(urgency_rank=rank).order_by("urgency_rank", "submitted_at", "pk")


def get(user: User, consultation_id: int) -> Consultation:
    consultation = access(user, consultation_id)
    audit.record(
        user,
        Action.READ,
        object_type="consultation",
        object_id=consultation.pk,
        patient_id=consultation.patient_id,
    )
    return consultation


def requested_by_my_institution(user: User) -> QuerySet[Consultation]:
    return (
        visible(user).filter(requesting_institution_id=user.institution_id).order_by("-created_at")
    )


def quality_control_queue(user: User) -> QuerySet[Consultation]:
    return urgent_first(visible(user).filter(state=State.SUBMITTED))


def triage_queue(user: User) -> QuerySet[Consultation]:
    return urgent_first(visible(user).filter(state__in=(State.ACCEPTED, State.DECLINED)))


def scheduling_queue(user: User) -> QuerySet[Consultation]:
    return urgent_first(visible(user).filter(state=State.ASSIGNED))


def expert_worklist(user: User) -> QuerySet[Consultation]:
    return urgent_first(
        visible(user).filter(
            assigned_expert=user, state__in=(State.ASSIGNED, State.SCHEDULED, State.IN_SESSION)
        )
    )


def search(
    user: User, *, state: str = "", kind: str = "", text: str = ""
) -> QuerySet[Consultation]:
    found = visible(user)
    if state:
        found = found.filter(state=state)
    if kind:
        found = found.filter(kind=kind)
    if text := text.strip():
        found = found.filter(Q(number__icontains=text) | Q(patient__name__icontains=text))
    return found.order_by("-created_at")


def todays_board(user: User, day: dt.date | None = None) -> QuerySet[Consultation]:
    """今日会诊安排: cases scheduled for the day (and those concluded that day), in time order."""
    day = day or timezone.localdate()
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = start + dt.timedelta(days=1)
    return (
        visible(user)
        .filter(scheduled_start__gte=start, scheduled_start__lt=end)
        .exclude(state__in=(State.WITHDRAWN, State.CANCELLED))
        .order_by("scheduled_start", "pk")
    )


def turnaround_target(urgency: str) -> dt.timedelta:
    return dt.timedelta(minutes=settings.TURNAROUND_MINUTES[urgency])


# States in which a case waits on the platform (not on the requester, and not finished).
NOT_WAITING = (
    State.DRAFT,
    State.RETURNED,
    State.WITHDRAWN,
    State.CANCELLED,
    State.CONCLUDED,
    State.CLOSED,
)


def overdue_condition(now: dt.datetime) -> Q:
    """Submitted, still waiting, and no first response from an expert within the target of
    the case's urgency: the one definition the queues and the turnaround sweep share."""
    late = Q(pk__in=[])
    for urgency in Urgency.values:
        late |= Q(urgency=urgency, submitted_at__lt=now - turnaround_target(urgency))
    return late & Q(first_response_at__isnull=True) & ~Q(state__in=NOT_WAITING)


def overdue(user: User) -> QuerySet[Consultation]:
    return urgent_first(visible(user).filter(overdue_condition(clock.now())))
