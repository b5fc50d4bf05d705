"""Quality control: the review page (the kind's checklist, the platform's own checks, accept
or return with reasons)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from telemed.consultations import pages, services
from telemed.consultations.forms import QualityCheckForm
from telemed.consultations.models import Consultation
from telemed.consultations.policies import policy_for
from telemed.consultations.views.common import failure, load, not_now, place_error
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.web.access import page, signed_in


@dataclass(frozen=True)
class CheckResult:
    label: str
    passed: bool
    note: str


def automatic_checks(consultation: Consultation) -> list[CheckResult]:
    results = []
    for check in policy_for(consultation.kind).automatic_checks:
        try:
            passed, note = check.run(consultation)
        except Exception as error:  # a broken check is shown as failed, not a 500
            passed, note = False, str(error)
        results.append(CheckResult(str(check.label), passed, note))
    return results


@page("consultations:review")
def review(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = load(user, consultation_id)
    may_review = {"qc_accept", "qc_return"} & set(allowed_actions(user, consultation))
    if request.method != "POST" and not may_review:
        return not_now(request, consultation, _("check"))
    policy = policy_for(consultation.kind)
    status = 200
    error = ""
    if request.method == "POST":
        form = QualityCheckForm(request.POST, policy=policy)
        accept = request.POST.get("decision") == "accept"
        status = 422
        if request.POST.get("decision") not in ("accept", "return"):
            form.is_valid()
            form.add_error(None, _("Choose to accept or to return the request."))
        elif form.is_valid():
            try:
                services.quality_check(
                    user,
                    consultation_id,
                    accept=accept,
                    checklist=form.checklist(),
                    reasons=form.cleaned_data["reasons"],
                )
            except NotFound:
                raise Http404("consultation not found") from None
            except ValidationFailed as problem:
                fields = problem.details.get("fields")
                missing = fields.get("checklist") if isinstance(fields, dict) else None
                if not form.place_missing(missing):
                    place_error(form, problem)
                else:
                    form.add_error(None, _("Tick every required check to accept the request."))
                status = problem.status
            except DomainError as problem:
                error = failure(problem)
                status = problem.status
            else:
                messages.success(
                    request,
                    _("Accepted: the request goes to triage.")
                    if accept
                    else _("Returned to the requester with your reasons."),
                )
                return redirect("consultations:qc_queue")
    else:
        form = QualityCheckForm(policy=policy)
    context = {
        "consultation": consultation,
        "form": form,
        "checks": automatic_checks(consultation),
        "record": pages.record_of(consultation),
        "error": error,
    }
    return render(request, "consultations/review.html", context, status=status)
