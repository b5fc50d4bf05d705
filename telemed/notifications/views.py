"""The notifications page (/notifications/): mine, unread first; opening one marks it read
and follows its link; "mark all read"."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from telemed.core.errors import NotFound
from telemed.notifications import queries, services
from telemed.web.access import page, signed_in

PER_PAGE = 25


@page("notifications:list")
def notification_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    pager = Paginator(queries.mine(user), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"pager": pager, "notifications": pager.object_list, "unread": queries.unread_count(user)},
    )


@page("notifications:list")
@require_POST
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = services.mark_read(signed_in(request), notification_id)
    except NotFound:
        raise Http404("no such notification") from None
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notifications:list")


@page("notifications:list")
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(signed_in(request))
    return redirect("notifications:list")
