from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from telemed.audit.queries import search_events
from telemed.web.access import page, signed_in
from telemed.web.forms import AuditFilterForm

PER_PAGE = 50


@page("web:audit")
def audit_trail(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    valid = form.is_valid()
    user = signed_in(request)
    # Bad filters show the form's errors over an empty list rather than everything.
    events = search_events(user, **form.filters()) if valid else search_events(user).none()
    pager = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "pager": pager, "events": pager.object_list}
    return render(request, "web/audit/list.html", context, status=200 if valid else 400)
