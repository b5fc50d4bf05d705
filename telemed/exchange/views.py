"""The exchange hub's operator pages: the outbox with each message's delivery log, the
dead-letter list with its "retry" button, and the queue of unmapped codes with a form to
map one. Thin: the reads are the scoped, audited queries; the writes ``outbound.retry``
and ``codes.map_code``."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from telemed.core.errors import DomainError, NotFound
from telemed.exchange import codes, outbound, queries
from telemed.exchange.forms import MapCodeForm, OutboxFilterForm
from telemed.exchange.models import DeliveryState, UnmappedCode
from telemed.web.access import page, signed_in
from telemed.web.errors import apply_to_form

PER_PAGE = 50
# At most this many messages are retried by one press of the button.
MAX_RETRY = 500


@page("exchange:outbox")
def outbox(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    found = queries.search_outbox(signed_in(request), state)
    pager = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "pager": pager,
        "rows": pager.object_list,
        "state": state,
        "dead": DeliveryState.DEAD,
        "delivered": DeliveryState.DELIVERED,
    }
    return render(request, "exchange/outbox.html", context, status=200 if form.is_valid() else 400)


@page("exchange:message")
def message(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        found = queries.outbound_message(signed_in(request), message_id)
    except NotFound:
        raise Http404("no such outbound message") from None
    log = queries.delivery_log(signed_in(request)).filter(message=found).order_by("number")
    context = {"message": found, "log": log, "delivered": DeliveryState.DELIVERED}
    return render(request, "exchange/message.html", context)


@require_POST
@page("exchange:retry")
def retry(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("message") if v.isdigit()][:MAX_RETRY]
    if not ids:
        messages.error(request, _("Choose the messages to deliver again."))
    else:
        try:
            count = outbound.retry(signed_in(request), ids)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if count:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d message will be delivered again.",
                        "%(count)d messages will be delivered again.",
                        count,
                    )
                    % {"count": count},
                )
            else:
                messages.warning(request, _("None of these messages is waiting for delivery."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = f"{reverse('exchange:outbox')}?state={DeliveryState.DEAD}"
    return redirect(back, permanent=False)


@page("exchange:codes")
def code_queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


def _render_queue(
    request: HttpRequest,
    *,
    failed: UnmappedCode | None = None,
    form: MapCodeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    queue = queries.code_queue(signed_in(request))
    pager = Paginator(queue, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        (entry, form if failed is not None and entry.pk == failed.pk else map_form(entry))
        for entry in pager.object_list
    ]
    if failed is not None and all(entry.pk != failed.pk for entry, _form in rows):
        rows.insert(0, (failed, form or map_form(failed)))
    context = {"pager": pager, "rows": rows}
    return render(request, "exchange/codes.html", context, status=status)


def map_form(entry: UnmappedCode, data: QueryDict | None = None) -> MapCodeForm:
    # One form per queued code on the page: the prefix keeps their fields' ids apart.
    return MapCodeForm(data, prefix=f"code{entry.pk}")


@require_POST
@page("exchange:map_code")
def map_code(request: HttpRequest, entry_id: int) -> HttpResponse:
    user = signed_in(request)
    entry = queries.code_queue(user).filter(pk=entry_id).first()
    if entry is None:
        # Not in the actor's region, or mapped already (by someone else meanwhile).
        raise Http404("no such code waiting")
    form = map_form(entry, request.POST)
    if not form.is_valid():
        return _render_queue(request, failed=entry, form=form, status=422)
    factor, offset = form.numbers()
    try:
        mapping = codes.map_code(
            user,
            entry.institution,
            entry.kind,
            entry.local_code,
            form.cleaned_data["standard_code"],
            form.cleaned_data["standard_name"],
            local_name=entry.local_name,
            factor=factor,
            offset=offset,
        )
    except DomainError as error:
        apply_to_form(form, error)
        return _render_queue(request, failed=entry, form=form, status=error.status)
    messages.success(
        request,
        _("%(local)s of %(institution)s now means %(standard)s.")
        % {
            "local": mapping.local_code,
            "institution": entry.institution.name,
            "standard": mapping.standard_code,
        },
    )
    return redirect("exchange:codes")
