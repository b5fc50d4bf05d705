"""The reader's report (technique, findings, impression), signed through the case's
``conclude`` step, and its PDF."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from telemed.consultations import pages
from telemed.consultations.views.common import failure, not_now, place_error
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound
from telemed.imaging import pdf, report
from telemed.imaging.forms import AmendReportForm, ReportForm
from telemed.imaging.views.cases import imaging_case
from telemed.imaging.views.common import case_studies, shown_studies
from telemed.web.access import page, signed_in


@page("imaging:report")
def write(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _sign(request, consultation_id, amending=False)


@page("imaging:amend")
def amend(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _sign(request, consultation_id, amending=True)


def _sign(request: HttpRequest, consultation_id: int, *, amending: bool) -> HttpResponse:
    user = signed_in(request)
    consultation = imaging_case(request, consultation_id)
    action = "amend" if amending else "conclude"
    if request.method != "POST" and action not in allowed_actions(user, consultation):
        return not_now(
            request, consultation, _("amend the report of") if amending else _("report on")
        )
    latest = pages.latest_conclusion(consultation)
    form: ReportForm
    if request.method == "POST":
        form = AmendReportForm(request.POST) if amending else ReportForm(request.POST)
    elif amending and latest is not None:
        form = AmendReportForm(initial=_initial(report.parse(latest)))
    else:
        form = ReportForm()
    status = 200
    error = ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                if isinstance(form, AmendReportForm):
                    reason = form.cleaned_data["amendment_reason"]
                    signed = report.amend(user, consultation.pk, form.report(), reason)
                else:
                    signed = report.sign(user, consultation.pk, form.report())
            except NotFound:
                raise Http404("consultation not found") from None
            except DomainError as problem:
                if problem.status == 422:
                    place_error(form, problem, rename={"diagnosis": "impression"})
                else:
                    error = failure(problem)
                status = problem.status
            else:
                messages.success(
                    request,
                    _("Version %(version)s of the report is signed.") % {"version": signed.version},
                )
                return redirect("imaging:case", consultation_id=consultation.pk)
    context = {
        "consultation": consultation,
        "form": form,
        "studies": shown_studies(user, case_studies(user, consultation)),
        "error": error,
        "amending": amending,
        "latest": latest,
    }
    return render(request, "imaging/report_form.html", context, status=status)


def _initial(previous: report.ImagingReport) -> dict[str, str]:
    return {
        "technique": previous.technique,
        "findings": previous.findings,
        "impression": previous.impression,
        "icd10_codes": ", ".join(previous.icd10_codes),
        "recommendations": previous.recommendations,
    }


@page("imaging:report_pdf")
def report_pdf(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = imaging_case(request, consultation_id)
    try:
        data, filename = pdf.export(user, consultation.pk)
    except NotFound:
        raise Http404("no signed report") from None
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=False, filename=filename) or ""
    )
    return response
