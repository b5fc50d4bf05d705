"""The queues and worklists: quality control, triage, scheduling, overdue, the expert's
worklist. Urgent first; overdue cases flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import User
from telemed.consultations import pages, queries
from telemed.consultations.models import Consultation
from telemed.web.access import View, page, signed_in

PER_PAGE = 30


@dataclass(frozen=True)
class Queue:
    url_name: str
    title: str | Promise
    intro: str | Promise
    empty: str | Promise
    query: Callable[[User], QuerySet[Consultation]]


QUEUES = {
    queue.url_name: queue
    for queue in (
        Queue(
            "qc_queue",
            _("Requests waiting for a quality check"),
            _("Submitted requests, urgent first. Open one to check it against the checklist."),
            _("No request is waiting for a quality check."),
            queries.quality_control_queue,
        ),
        Queue(
            "triage_queue",
            _("Requests waiting for triage"),
            _("Accepted requests and cases an expert declined, urgent first."),
            _("No request is waiting for triage."),
            queries.triage_queue,
        ),
        Queue(
            "scheduling_queue",
            _("Assigned cases waiting for a time"),
            _("Cases assigned to an expert that have no time and room yet."),
            _("No assigned case is waiting for a time."),
            queries.scheduling_queue,
        ),
        Queue(
            "overdue",
            _("Overdue cases"),
            _("No expert has answered within the turnaround target for the case's urgency."),
            _("No case is overdue."),
            queries.overdue,
        ),
        Queue(
            "worklist",
            _("My worklist"),
            _("Cases assigned to me, urgent first."),
            _("No case is assigned to you."),
            queries.expert_worklist,
        ),
    )
}


def _queue_view(name: str) -> View[[]]:
    queue = QUEUES[name]

    @page(f"consultations:{name}")
    def view(request: HttpRequest) -> HttpResponse:
        user = signed_in(request)
        pager = Paginator(queue.query(user), PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "queue": queue,
            "queue_name": name,
            "pager": pager,
            "cases": pager.object_list,
            "overdue": pages.overdue_ids(user),
        }
        return render(request, "consultations/queue.html", context)

    view.__name__ = name
    return view


qc_queue = _queue_view("qc_queue")
triage_queue = _queue_view("triage_queue")
scheduling_queue = _queue_view("scheduling_queue")
overdue = _queue_view("overdue")
worklist = _queue_view("worklist")
