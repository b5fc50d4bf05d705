"""The consultation manager's pages: triage (suggested experts, or any expert) and
scheduling (time and room, no double booking). Both work on a phone."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from telemed.consultations import pages, scheduling, services
from telemed.consultations.forms import (
    SCHEDULE_FIELDS,
    ExpertFilterForm,
    ScheduleForm,
    TriageForm,
    parse_day,
)
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.views.common import failure, load, not_now, place_error
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound
from telemed.directory.models import ConsultationRoom
from telemed.web.access import is_htmx, page, signed_in


@page("consultations:triage")
def triage(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    allowed = set(allowed_actions(user, consultation)) & {"triage", "reassign"}
    if not allowed:
        return not_now(request, consultation, _("triage"))
    filters = ExpertFilterForm(request.GET or None)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    searched = bool(wanted.get("q") or wanted.get("tier"))
    found = (
        pages.experts(
            text=wanted.get("q", ""),
            tier=wanted.get("tier", ""),
            exclude_institution=consultation.requesting_institution_id,
        )
        if searched
        else []
    )
    if is_htmx(request) and request.method == "GET":
        return render(
            request,
            "consultations/partials/expert_choices.html",
            {"found": found, "searched": searched, "consultation": consultation},
        )
    status = 200
    error = ""
    if request.method == "POST":
        form = TriageForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                services.triage(
                    user,
                    consultation_id,
                    expert_id=form.cleaned_data["expert"],
                    reason=form.cleaned_data["reason"],
                    reassign=form.cleaned_data["reassign"],
                )
            except NotFound:
                raise Http404("consultation not found") from None
            except DomainError as problem:
                if problem.status == 422:
                    place_error(form, problem, {"expert_id": "expert"})
                else:
                    error = failure(problem)
                status = problem.status
            else:
                messages.success(request, _("Assigned. Now choose a time and a room."))
                return redirect("consultations:schedule", consultation_id=consultation_id)
    else:
        form = TriageForm(initial={"reassign": "reassign" in allowed})
    context = {
        "consultation": consultation,
        "reassigning": "reassign" in allowed,
        "suggestions": scheduling.suggest_experts(consultation),
        "filters": filters,
        "found": found,
        "searched": searched,
        "form": form,
        "error": error,
        "record": pages.record_of(consultation),
    }
    return render(request, "consultations/triage.html", context, status=status)


@page("consultations:schedule")
def schedule(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    if "schedule" not in allowed_actions(user, consultation):
        return not_now(request, consultation, _("schedule"))
    expert = consultation.assigned_expert
    rooms = list(pages.rooms_for(consultation))
    status = 200
    error = ""
    if request.method == "POST":
        form = ScheduleForm(request.POST, rooms=rooms)
        status = 422
        if form.is_valid():
            try:
                services.schedule(
                    user,
                    consultation_id,
                    start=form.cleaned_data["start"],
                    end=form.cleaned_data["end"],
                    room_id=form.cleaned_data["room"],
                )
            except NotFound:
                raise Http404("consultation not found") from None
            except DomainError as problem:
                if problem.status in (409, 422) and (
                    problem.details.get("clashes") or problem.details.get("fields")
                ):
                    place_error(form, problem, SCHEDULE_FIELDS)
                else:
                    error = failure(problem)
                status = problem.status
            else:
                messages.success(request, _("The consultation is scheduled."))
                return redirect("consultations:detail", consultation_id=consultation_id)
        day = parse_day(request.POST.get("day")) or timezone.localdate()
    else:
        day, initial = _proposal(request, consultation, rooms)
        form = ScheduleForm(initial=initial, rooms=rooms)
    context = {
        "consultation": consultation,
        "expert": expert,
        "form": form,
        "day": day,
        "slots": pages.free_slots(expert, day) if expert is not None else [],
        "error": error,
        "rooms": rooms,
    }
    return render(request, "consultations/schedule.html", context, status=status)


def _proposal(
    request: HttpRequest, consultation: Consultation, rooms: list[ConsultationRoom]
) -> tuple[dt.date, dict[str, object]]:
    """What the form starts with: a slot picked from the list, the requester's wanted time
    with the wanted expert, the current booking, or the expert's next free slot."""
    c = consultation
    minutes = policy_for(c.kind).session_minutes
    start: dt.datetime | None = None
    if c.scheduled_start:
        start = timezone.localtime(c.scheduled_start)
        if c.scheduled_end:
            minutes = int((c.scheduled_end - c.scheduled_start).total_seconds() // 60)
    elif c.wanted_start and c.wanted_expert_id == c.assigned_expert_id:
        start = timezone.localtime(c.wanted_start)
    day = parse_day(request.GET.get("day"))
    time = request.GET.get("time", "")[:5]
    if day is None:
        if start is not None:
            day = start.date()
        elif c.assigned_expert is not None:
            day = pages.next_free_day(c.assigned_expert)
        else:
            day = timezone.localdate()
    if not time and start is not None and start.date() == day:
        time = f"{start:%H:%M}"
    if not time and c.assigned_expert is not None:
        slots = pages.free_slots(c.assigned_expert, day)
        time = f"{slots[0]:%H:%M}" if slots else ""
    room = c.room_id or (rooms[0].pk if rooms else "")
    return day, {"day": day, "time": time, "minutes": minutes, "room": room}
