"""The duty roster page: an ECG centre's manager puts their experts on duty in the pools
they belong to, and ends or cancels shifts. Thin: ``roster`` decides and writes."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telemed.core.errors import DomainError, NotFound
from telemed.ecg import roster
from telemed.web.access import page, signed_in


def _moment(raw: str) -> dt.datetime | None:
    """A ``datetime-local`` field's value, in the platform's time zone."""
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _render(request: HttpRequest, *, status: int = 200, **extra: object) -> HttpResponse:
    user = signed_in(request)
    placements = roster.rosterable_experts(user)
    context = {
        "placements": placements,
        "shifts": list(roster.shifts(user)),
        "now": timezone.localtime(),
        **extra,
    }
    return render(request, "ecg/roster.html", context, status=status)


@page("ecg:roster")
def roster_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request)
    user = signed_in(request)
    post = request.POST
    expert_id, _sep, pool_id = post.get("placement", "").partition(":")
    starts_at, ends_at = _moment(post.get("starts_at", "")), _moment(post.get("ends_at", ""))
    if not (expert_id.isdigit() and pool_id.isdigit()) or starts_at is None or ends_at is None:
        return _render(
            request, status=422, error=_("Choose an expert and pool, and give both times.")
        )
    try:
        roster.put_on_duty(
            user,
            pool_id=int(pool_id),
            expert_id=int(expert_id),
            starts_at=starts_at,
            ends_at=ends_at,
        )
    except DomainError as error:
        return _render(
            request,
            status=error.status,
            error=error.message,
            details=error.details.get("fields", {}),
        )
    messages.success(request, _("The expert is on the roster."))
    return redirect("ecg:roster")


@page("ecg:roster_end")
@require_POST
def end_shift(request: HttpRequest, shift_id: int) -> HttpResponse:
    try:
        ended = roster.end_shift(signed_in(request), shift_id)
    except NotFound:
        raise Http404("no such shift") from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("ecg:roster")
    messages.success(
        request, _("The shift is ended.") if ended is not None else _("The shift is cancelled.")
    )
    return redirect("ecg:roster")
