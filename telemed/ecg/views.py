"""The ecg app's pages: the pool worklist, sending an ECG, the case with its 12-lead viewer,
claim and release buttons, the report form, the report as a fragment and as a PDF. Thin:
services write, queries read; the viewer fetches its samples from the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telemed.accounts.models import Role, User
from telemed.consultations.states import Urgency
from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.ecg import analysis_view, pdf, pools, present, queries, reports, services
from telemed.patients import queries as patient_queries
from telemed.web.access import page
from telemed.web.menus import may_open


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@page("ecg:worklist")
def worklist(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = [present.row(case) for case in queries.worklist(user)]
    is_expert = user.role == Role.EXPERT
    return render(
        request,
        "ecg/worklist.html",
        {
            "rows": rows,
            "is_expert": is_expert,
            # An empty list means something else when the expert is not on duty anywhere.
            "off_duty": is_expert and not pools.on_duty_pool_ids(user.pk),
            "can_send": may_open(user.role, "ecg:new"),
            "can_roster": may_open(user.role, "ecg:roster"),
        },
    )


@page("ecg:new")
def new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    patients = patient_queries.visible_patients(user).order_by("name")[:300]
    context: dict[str, Any] = {"patients": patients, "urgencies": Urgency.choices, "form": {}}
    if request.method != "POST":
        return render(request, "ecg/new.html", context)
    context["form"] = request.POST
    try:
        files = request.FILES.getlist("files")
        uploads = {str(f.name): f for f in files}
        if not uploads:
            raise ValidationFailed(_("Choose the ECG file(s) to send."))
        patient = patient_queries.get_patient(
            user, int(request.POST.get("patient_id") or 0), audit_read=False
        )
        case = services.submit_ecg(
            user,
            patient,
            uploads,
            main=services.main_file(list(uploads), request.POST.get("main", "")),
            intake=services.Intake(
                urgency=request.POST.get("urgency", Urgency.ROUTINE),
                clinical_summary=request.POST.get("clinical_summary", "")[:20000],
                question=request.POST.get("question", "")[:5000],
                consent_confirmed=request.POST.get("consent_confirmed") == "on",
            ),
        )
    except (DomainError, ValueError) as error:
        context["error"] = (
            error.message if isinstance(error, DomainError) else _("Choose a patient.")
        )
        context["details"] = (
            error.details.get("fields", {}) if isinstance(error, DomainError) else {}
        )
        status = error.status if isinstance(error, DomainError) else 422
        return render(request, "ecg/new.html", context, status=status)
    messages.success(request, _("The ECG is sent to the reading pool."))
    return redirect("ecg:case", case.pk)


def _load(user: User, consultation_id: int) -> Any:
    try:
        return queries.get_case(user, consultation_id)
    except NotFound:
        raise Http404("ECG not found") from None


@page("ecg:case")
def case(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _render_case(request, consultation_id)


def _render_case(
    request: HttpRequest, consultation_id: int, *, status: int = 200, **extra: Any
) -> HttpResponse:
    user = _user(request)
    found = _load(user, consultation_id)
    info = present.detail(user, found)
    chosen = extra.pop("chosen", None)
    signed = info["report"]
    amending = signed is not None and "amend" in info["actions"]
    # An amendment starts from what was signed; a first report from the automated reading.
    start = signed if amending and signed["phrases"] else None
    measured = start["measurements"] if start else info["measurements"]
    context = {
        "case": found,
        "info": info,
        "amending": amending,
        "phrases": reports.PHRASES,
        "chosen": chosen
        if chosen is not None
        else (start["phrases"] if start else info["suggested_phrases"]),
        "measurement_fields": [
            (name, reports.MEASUREMENT_LABELS[name], unit, measured.get(name))
            for name, unit in analysis_view.MEASUREMENTS
        ],
        "statement_labels": [
            analysis_view.label(code) for code in analysis_view.statements(info["analysis"])
        ],
        **extra,
    }
    return render(request, "ecg/case.html", context, status=status)


@page("ecg:claim")
@require_POST
def claim(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = _user(request)
    try:
        services.claim(user, consultation_id)
    except NotFound:
        raise Http404("ECG not found") from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("ecg:worklist")
    messages.success(request, _("You have claimed this ECG: read it and sign the report."))
    return redirect("ecg:case", consultation_id)


@page("ecg:release")
@require_POST
def release(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = _user(request)
    try:
        services.release(user, consultation_id, request.POST.get("reason", ""))
    except NotFound:
        raise Http404("ECG not found") from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("ecg:case", consultation_id)
    messages.success(request, _("The ECG is back in the pool."))
    return redirect("ecg:worklist")


def _number(raw: str) -> float | None:
    raw = raw.strip()
    return float(raw) if raw else None


def _draft(request: HttpRequest) -> reports.ReportDraft:
    """The report form's fields (ValueError: a measurement is not a number)."""
    post = request.POST
    measurements = {
        name: _number(post.get(f"m_{name}", "")) for name, _unit in analysis_view.MEASUREMENTS
    }
    return reports.ReportDraft(
        phrases=tuple(post.getlist("phrases")),
        measurements=measurements,
        findings=post.get("findings", "")[:5000],
        diagnosis=post.get("diagnosis", "")[:2000],
        icd10_codes=tuple(
            c for c in post.get("icd10_codes", "").replace("，", ",").split(",") if c.strip()
        ),
        recommendations=post.get("recommendations", "")[:2000],
    )


def _sign(
    request: HttpRequest, consultation_id: int, sign: Callable[[reports.ReportDraft], object]
) -> HttpResponse | None:
    """Run ``sign`` on the form's draft; the case page again with the reasons if refused."""
    phrases = request.POST.getlist("phrases")
    try:
        draft = _draft(request)
    except ValueError:
        return _render_case(
            request,
            consultation_id,
            status=422,
            error=_("Measurements must be numbers."),
            chosen=phrases,
        )
    try:
        sign(draft)
    except NotFound:
        raise Http404("ECG not found") from None
    except DomainError as error:
        return _render_case(
            request,
            consultation_id,
            status=error.status,
            error=error.message,
            details=error.details.get("fields", {}),
            chosen=phrases,
        )
    return None


@page("ecg:report")
@require_POST
def report(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = _user(request)
    refused = _sign(
        request, consultation_id, lambda draft: reports.sign_report(user, consultation_id, draft)
    )
    if refused is not None:
        return refused
    messages.success(request, _("The report is signed and sent to the requester."))
    return redirect("ecg:case", consultation_id)


@page("ecg:amend")
@require_POST
def amend(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = _user(request)
    reason = request.POST.get("amendment_reason", "")[:2000]
    refused = _sign(
        request,
        consultation_id,
        lambda draft: reports.amend_report(user, consultation_id, draft, reason=reason),
    )
    if refused is not None:
        return refused
    messages.success(request, _("The amended report is signed and sent to the requester."))
    return redirect("ecg:case", consultation_id)


@page("ecg:report_fragment")
def report_fragment(request: HttpRequest, consultation_id: int) -> HttpResponse:
    found = _load(_user(request), consultation_id)
    return render(
        request, "ecg/partials/report.html", {"case": found, "report": present.report(found)}
    )


@page("ecg:report_pdf")
def report_pdf(request: HttpRequest, consultation_id: int) -> HttpResponse:
    try:
        data, name = pdf.export(_user(request), consultation_id)
    except NotFound:
        raise Http404("no signed report") from None
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response
