"""The expert's pages: write and sign the conclusion, amend it with a new signed version."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from telemed.consultations import pages, services
from telemed.consultations.forms import AmendmentForm, ConclusionForm
from telemed.consultations.policies import policy_for
from telemed.consultations.views.common import failure, load, not_now, place_error
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound
from telemed.web.access import page, signed_in


@page("consultations:conclude")
def conclude(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _sign(request, consultation_id, amending=False)


@page("consultations:amend")
def amend(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _sign(request, consultation_id, amending=True)


def _sign(request: HttpRequest, consultation_id: int, *, amending: bool) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    own_page = policy_for(consultation.kind).sign_url(consultation_id, amending=amending)
    if own_page != request.path:
        return redirect(own_page)  # the kind writes its report on a page of its own
    action = "amend" if amending else "conclude"
    if request.method != "POST" and action not in allowed_actions(user, consultation):
        return not_now(
            request, consultation, _("amend the conclusion of") if amending else _("conclude")
        )
    form_class = AmendmentForm if amending else ConclusionForm
    latest = pages.latest_conclusion(consultation)
    status = 200
    error = ""
    if request.method == "POST":
        form = form_class(request.POST)
        status = 422
        if form.is_valid():
            try:
                signer = services.amend if amending else services.conclude
                signed = signer(user, consultation_id, form.draft())
            except NotFound:
                raise Http404("consultation not found") from None
            except DomainError as problem:
                if problem.status == 422:
                    place_error(form, problem)
                else:
                    error = failure(problem)
                status = problem.status
            else:
                messages.success(
                    request,
                    _("Version %(version)s of the conclusion is signed.")
                    % {"version": signed.version},
                )
                return redirect("consultations:detail", consultation_id=consultation_id)
    elif amending and latest is not None:
        form = form_class(
            initial={
                "findings": latest.findings,
                "diagnosis": latest.diagnosis,
                "icd10_codes": ", ".join(latest.icd10_codes),
                "recommendations": latest.recommendations,
            }
        )
    else:
        form = form_class()
    context = {
        "consultation": consultation,
        "form": form,
        "amending": amending,
        "latest": latest,
        "error": error,
    }
    return render(request, "consultations/conclusion_form.html", context, status=status)
