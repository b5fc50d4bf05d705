from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from telemed.consultations import pages as consultation_pages
from telemed.core.errors import DomainError, NotFound
from telemed.patients import queries, services
from telemed.web.access import page, render_live, signed_in
from telemed.web.dashboards import consent_rows
from telemed.web.errors import apply_to_form
from telemed.web.forms import RegisterPatientForm, SearchForm
from telemed.web.menus import may_open
from telemed.web.paging import Window, page_number

PER_PAGE = 20


@page("web:patients")
def patient_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = SearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    number = page_number(request.GET.get("page"))
    found, total = queries.search_patients(
        user, text, limit=PER_PAGE, offset=(number - 1) * PER_PAGE
    )
    window = Window(number, PER_PAGE, total)
    if not found and number > window.num_pages:  # a stale link past the end: show the last
        window = Window(window.num_pages, PER_PAGE, total)
        found, total = queries.search_patients(user, text, limit=PER_PAGE, offset=window.offset)
    context = {
        "form": form,
        "patients": found,
        "pager": window,
        "may_register": may_open(user.role, "web:patient_new"),
    }
    return render_live(request, "web/patients/list.html", "web/patients/results.html", context)


@page("web:patient_detail")
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        patient = queries.get_patient(user, patient_id)
    except NotFound:
        raise Http404("patient not found") from None
    context = {
        "patient": patient,
        "registrations": queries.registrations_of(user, patient),
        "consents": consent_rows(patient),
        "consent_history": queries.consent_history(patient),
        "may_request": may_open(user.role, "consultations:new"),
        "consultations": (
            list(consultation_pages.for_patient(user, patient)[:20])
            if may_open(user.role, "consultations:detail")
            else None
        ),
    }
    return render(request, "web/patients/detail.html", context)


@page("web:patient_new")
def register_patient(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = RegisterPatientForm(request.POST if request.method == "POST" else None)
    duplicates: list[object] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                registered = services.register_patient(
                    user, form.new_patient(), confirm_new=form.cleaned_data["confirm_new"]
                )
            except services.PossibleDuplicate as error:
                candidates = error.details.get("candidates")
                ids = [int(pk) for pk in candidates] if isinstance(candidates, list) else []
                duplicates = list(queries.visible_patients(user).filter(pk__in=ids))
                form.add_error(
                    None, _("A patient with the same name, sex and date of birth exists.")
                )
                status = 409
            except DomainError as error:
                apply_to_form(form, error)
                status = error.status
            else:
                if registered.linked_existing:
                    messages.info(
                        request,
                        _(
                            "This person was already known to the network; the record is now "
                            "registered at your institution too."
                        ),
                    )
                else:
                    messages.success(request, _("The patient is registered."))
                return redirect("web:patient_detail", patient_id=registered.patient.pk)
    context = {"form": form, "duplicates": duplicates}
    return render(request, "web/patients/register.html", context, status=status)
