"""The requesting doctor's pages: the list, a new request, editing and resubmitting, and the
htmx pieces of the request form (experts and their free times, diseases)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from telemed.accounts.models import Role
from telemed.consultations import pages, queries, services
from telemed.consultations.forms import REQUEST_FIELDS, ListFilterForm, RequestForm
from telemed.consultations.models import Consultation
from telemed.consultations.views.common import load, not_now, place_error
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.patients import queries as patient_queries
from telemed.web.access import page, render_live, signed_in
from telemed.web.forms import SearchForm
from telemed.web.menus import may_open

PER_PAGE = 25


@page("consultations:list")
def consultation_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = ListFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    found = pages.search(user, state=filters.get("state", ""), text=filters.get("q", ""))
    pager = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "state": filters.get("state", ""),
        "q": filters.get("q", ""),
        "pager": pager,
        "cases": pager.object_list,
        "counts": pages.count_by_state(queries.visible(user)),
        "overdue": pages.overdue_ids(user),
        "may_request": may_open(user.role, "consultations:new_pick"),
        "own_institution": user.role == Role.REQUESTING_DOCTOR,
    }
    return render(request, "consultations/list.html", context)


@page("consultations:new_pick")
def pick_patient(request: HttpRequest) -> HttpResponse:
    """A new request starts from a patient: find one at my institution."""
    user = signed_in(request)
    form = SearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    found, total = patient_queries.search_patients(user, text, limit=20)
    context = {"form": form, "patients": found, "total": total}
    return render_live(
        request,
        "consultations/pick_patient.html",
        "consultations/partials/patient_choices.html",
        context,
    )


@page("consultations:new")
def new(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        patient = patient_queries.get_patient(user, patient_id)
    except NotFound:
        raise Http404("patient not found") from None
    status = 200
    if request.method == "POST":
        form = RequestForm(request.POST, requester=user)
        status = 422
        if form.is_valid():
            try:
                created = services.create_draft(user, patient.pk, form.to_request())
            except NotFound:
                raise Http404("patient not found") from None
            except DomainError as error:
                place_error(form, error, REQUEST_FIELDS)
                status = error.status
            else:
                return _after_save(request, created, form)
    else:
        form = RequestForm(initial={"urgency": "routine"}, requester=user)
    return _render_form(request, form, patient=patient, consultation=None, status=status)


@page("consultations:edit")
def edit(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    if request.method != "POST" and "edit" not in allowed_actions(user, consultation):
        return not_now(request, consultation, _("edit"))
    status = 200
    saved = consultation.wanted_start
    if request.method == "POST":
        form = RequestForm(request.POST, requester=user, saved_start=saved)
        status = 422
        if form.is_valid():
            try:
                services.edit(user, consultation_id, form.to_request())
            except NotFound:
                raise Http404("consultation not found") from None
            except DomainError as error:
                place_error(form, error, REQUEST_FIELDS)
                status = error.status
            else:
                return _after_save(request, load(user, consultation_id), form)
    else:
        form = RequestForm(
            initial=RequestForm.initial_from(consultation), requester=user, saved_start=saved
        )
    return _render_form(
        request, form, patient=consultation.patient, consultation=consultation, status=status
    )


def _after_save(
    request: HttpRequest, consultation: Consultation, form: RequestForm
) -> HttpResponse:
    """Saved as a draft; submitted too when the doctor asked. A request the service finds
    incomplete stays a draft and comes back with what is missing."""
    user = signed_in(request)
    if request.POST.get("intent") != "submit":
        messages.success(request, _("The draft is saved."))
        return redirect("consultations:detail", consultation_id=consultation.pk)
    try:
        services.submit(user, consultation.pk)
    except NotFound:
        raise Http404("consultation not found") from None
    except DomainError as error:
        place_error(form, error, REQUEST_FIELDS)
        messages.warning(request, _("The draft is saved but not submitted."))
        return _render_form(
            request,
            form,
            patient=consultation.patient,
            consultation=consultation,
            status=error.status,
        )
    messages.success(request, _("The request is submitted."))
    return redirect("consultations:detail", consultation_id=consultation.pk)


def render_edit_with_errors(
    request: HttpRequest, consultation_id: int, error: ValidationFailed
) -> HttpResponse:
    """Submitting from the case page found the request incomplete: show the form with the
    fields that are missing."""
    user = signed_in(request)
    consultation = load(user, consultation_id)
    data = RequestForm.initial_from(consultation)
    form = RequestForm(
        {k: v for k, v in data.items() if v not in (None, False)},
        requester=user,
        saved_start=consultation.wanted_start,
    )
    form.is_valid()
    place_error(form, error, REQUEST_FIELDS)
    return _render_form(
        request, form, patient=consultation.patient, consultation=consultation, status=error.status
    )


def _render_form(
    request: HttpRequest,
    form: RequestForm,
    *,
    patient: Any,
    consultation: Consultation | None,
    status: int,
) -> HttpResponse:
    if consultation is not None:
        action = reverse("consultations:edit", kwargs={"consultation_id": consultation.pk})
    else:
        action = reverse("consultations:new", kwargs={"patient_id": patient.pk})
    context = {
        "form": form,
        "patient": patient,
        "consultation": consultation,
        "action_url": action,
        "record": pages.record_of(consultation) if consultation is not None else None,
        "diseases": pages.diseases(),
    }
    return render(request, "consultations/request_form.html", context, status=status)


@page("consultations:picker")
def picker(request: HttpRequest) -> HttpResponse:
    """The request form's department, expert and time fields, reloaded as they change."""
    user = signed_in(request)
    values = request.GET.dict()
    form = RequestForm(initial=values, source=values, requester=user)
    return render(request, "consultations/partials/expert_picker.html", {"form": form})


@page("consultations:diseases")
def diseases(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("disease", "")[:100]
    return render(
        request,
        "consultations/partials/disease_options.html",
        {"diseases": pages.diseases(text)},
    )
