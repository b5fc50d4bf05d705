"""Time, rooms and experts: free slots, double-booking checks, and triage suggestions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from telemed.accounts.models import Role, User
from telemed.consultations.models import AvailabilityWindow, Consultation
from telemed.consultations.states import State
from telemed.core.errors import Conflict
from telemed.directory.models import ConsultationRoom

BOOKED = (State.SCHEDULED, State.IN_SESSION)
# When an expert has declared no windows: a hospital's ordinary clinic hours, weekdays.
DEFAULT_WINDOWS = ((dt.time(8, 30), dt.time(11, 30)), (dt.time(14, 30), dt.time(17, 30)))
SLOT = dt.timedelta(minutes=30)


def _bookings(**match: object):
    return Consultation.objects.unscoped("schedule clash check").filter(state__in=BOOKED, **match)


def clashes(
    expert: User | None,
    room: ConsultationRoom | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    excluding: int | None = None,
) -> list[str]:
    """Why [start, end) cannot be booked, one sentence per clash; empty when it can."""
    who_clash = Q(pk__in=[])
    if expert is not None:
        who_clash |= Q(assigned_expert=expert)
    if room is not None:
        who_clash |= Q(room=room)
    # One query for both: the bookings of the expert or the room that overlap.
    busy = _bookings().filter(who_clash, scheduled_start__lt=end, scheduled_end__gt=start)
    if excluding:
        busy = busy.exclude(pk=excluding)
    others = list(
        busy.order_by("scheduled_start").only(
            "number", "scheduled_start", "scheduled_end", "assigned_expert_id", "room_id"
        )[:6]
    )
    found = []
    for label, who, field in (
        (gettext("Expert"), expert, "assigned_expert_id"),
        (gettext("Room"), room, "room_id"),
    ):
        if who is None:
            continue
        for other in [o for o in others if getattr(o, field) == who.pk][:3]:
            start_local = timezone.localtime(other.scheduled_start)
            end_local = timezone.localtime(other.scheduled_end)
            found.append(
                gettext("%(what)s %(name)s is booked %(start)s–%(end)s for %(number)s")
                % {
                    "what": label,
                    "name": str(who.get_full_name() if isinstance(who, User) else who),
                    "start": f"{start_local:%Y-%m-%d %H:%M}",
                    "end": f"{end_local:%H:%M}",
                    "number": other.number,
                }
            )
    return found


def ensure_free(
    expert: User | None,
    room: ConsultationRoom | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    excluding: int | None = None,
) -> None:
    """Raise Conflict naming the clash. Call with the expert's and room's rows locked, so that
    two managers booking the same slot at once cannot both pass (see services.schedule)."""
    found = clashes(expert, room, start, end, excluding=excluding)
    if found:
        raise Conflict("; ".join(found), details={"clashes": found})


def windows_for(expert: User, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    declared = list(
        AvailabilityWindow.objects.filter(expert=expert).values_list("weekday", "start", "end")
    )
    if declared:
        return [(start, end) for weekday, start, end in declared if weekday == day.weekday()]
    return list(DEFAULT_WINDOWS) if day.weekday() < 5 else []


def free_slots(expert: User, day: dt.date) -> list[dt.datetime]:
    """Start times of the expert's free half-hour slots on ``day`` (local time)."""
    zone = timezone.get_current_timezone()
    booked = list(
        _bookings(assigned_expert=expert)
        .filter(scheduled_start__date__lte=day, scheduled_end__date__gte=day)
        .values_list("scheduled_start", "scheduled_end")
    )
    slots = []
    for start, end in windows_for(expert, day):
        moment = dt.datetime.combine(day, start, tzinfo=zone)
        stop = dt.datetime.combine(day, end, tzinfo=zone)
        while moment + SLOT <= stop:
            if not any(b_start < moment + SLOT and b_end > moment for b_start, b_end in booked):
                slots.append(moment)
            moment += SLOT
    return slots


@dataclass(frozen=True)
class Suggestion:
    expert: User
    institution_code: str
    department: str
    treats_disease: bool
    active_cases: int
    next_free: dt.datetime | None


def suggest_experts(
    consultation: Consultation, *, limit: int = 10, today: dt.date | None = None
) -> list[Suggestion]:
    """Experts for triage: the wanted department's and the disease's specialists, those who
    treat the disease first, then the least loaded; each with the next free slot."""
    experts = User.objects.filter(
        role=Role.EXPERT, is_active=True, practitioner__expert_profile__accepting=True
    )
    match = Q(pk__in=[])
    if consultation.wanted_specialty_id:
        match |= Q(practitioner__department__specialty_id=consultation.wanted_specialty_id)
    if consultation.disease_id:
        match |= Q(practitioner__expert_profile__diseases=consultation.disease_id)
    if consultation.wanted_expert_id:
        match |= Q(pk=consultation.wanted_expert_id)
    experts = (
        experts.filter(match)
        .exclude(institution=consultation.requesting_institution_id)
        .select_related("institution", "practitioner__department")
        .annotate(
            active_cases=Count(
                "assigned_consultations",
                filter=Q(
                    assigned_consultations__state__in=(
                        State.ASSIGNED,
                        State.SCHEDULED,
                        State.IN_SESSION,
                    )
                ),
            )
        )
        .distinct()
    )
    disease_experts = set()
    if consultation.disease_id:
        disease_experts = set(
            User.objects.filter(
                practitioner__expert_profile__diseases=consultation.disease_id
            ).values_list("pk", flat=True)
        )
    day = today or timezone.localdate()
    ranked = sorted(
        experts,
        key=lambda e: (
            e.pk != consultation.wanted_expert_id,
            e.pk not in disease_experts,
            e.active_cases,
            e.pk,
        ),
    )[:limit]
    return [
        Suggestion(
            expert=e,
            institution_code=e.institution.code if e.institution else "",
            department=str(e.practitioner.department)
            if e.practitioner and e.practitioner.department
            else "",
            treats_disease=e.pk in disease_experts,
            active_cases=e.active_cases,
            next_free=_next_free(e, day),
        )
        for e in ranked
    ]


def _next_free(expert: User, day: dt.date, days: int = 7) -> dt.datetime | None:
    now = timezone.now()
    for offset in range(days):
        for slot in free_slots(expert, day + dt.timedelta(days=offset)):
            if slot > now:
                return slot
    return None


def lock_rows(expert: User | None, room: ConsultationRoom | None) -> None:
    """Serialise bookings per expert and per room (PostgreSQL row locks; SQLite's IMMEDIATE
    transactions already serialise every writer).

    FOR NO KEY UPDATE, on those rows alone: a plain FOR UPDATE would also block the key-share
    locks that foreign-key checks of concurrent triage and conclusions take on the same
    rows, and the room's default ordering would join (and lock) its institution, which
    deadlocked against the audit chain head under load (found by bench/consultations.py).
    """
    if expert is not None:
        list(
            User.objects.select_for_update(no_key=True)
            .filter(pk=expert.pk)
            .order_by()
            .values_list("pk")
        )
    if room is not None:
        list(
            ConsultationRoom.objects.select_for_update(no_key=True)
            .filter(pk=room.pk)
            .order_by()
            .values_list("pk")
        )
