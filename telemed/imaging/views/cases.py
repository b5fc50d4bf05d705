"""An imaging case's studies: the panel on the case and QC pages, the case's imaging page
(attach a received study, open the viewer, read the signed report)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from telemed.consultations import pages
from telemed.consultations.models import Consultation
from telemed.consultations.states import Kind, State
from telemed.consultations.views.common import failure, load
from telemed.consultations.workflow import allowed_actions
from telemed.core.errors import DomainError, NotFound
from telemed.imaging import queries, services
from telemed.imaging.forms import AttachForm, ImagingRequestForm
from telemed.imaging.models import ImagingRequest
from telemed.imaging.report import parse
from telemed.imaging.views.common import case_studies, shown_studies
from telemed.web.access import page, signed_in


def imaging_case(request: HttpRequest, consultation_id: int) -> Consultation:
    """The case in the user's scope, if it is an imaging case (404 otherwise)."""
    consultation = load(signed_in(request), consultation_id)
    if consultation.kind != Kind.IMAGING:
        raise Http404("not an imaging case")
    return consultation


def _may_attach(request: HttpRequest, consultation: Consultation) -> bool:
    return "edit" in allowed_actions(signed_in(request), consultation) and consultation.state in (
        State.DRAFT,
        State.RETURNED,
    )


def _candidates(request: HttpRequest, consultation: Consultation) -> list[object]:
    """The requesting institution's studies not yet on this case, newest first."""
    return list(
        queries.visible_studies(signed_in(request))
        .filter(institution_id=consultation.requesting_institution_id)
        .exclude(cases__consultation=consultation)
        .filter(Q(patient_id=consultation.patient_id) | Q(patient__isnull=True))
        .order_by("-received_at", "-pk")[:50]
    )


def _context(request: HttpRequest, consultation: Consultation) -> dict[str, object]:
    user = signed_in(request)
    latest = pages.latest_conclusion(consultation)
    studies = shown_studies(user, case_studies(user, consultation))
    return {
        "consultation": consultation,
        "studies": studies,
        "deidentified": any(getattr(study, "deidentified", False) for study in studies),
        "may_attach": _may_attach(request, consultation),
        "may_report": "conclude" in allowed_actions(user, consultation),
        "may_amend": "amend" in allowed_actions(user, consultation),
        "conclusion": latest,
        "report": parse(latest) if latest else None,
    }


@page("imaging:case_panel")
def case_panel(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """The fragment the consultation pages load for an imaging case."""
    consultation = imaging_case(request, consultation_id)
    return render(request, "imaging/partials/case_panel.html", _context(request, consultation))


@page("imaging:case")
def case_detail(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """The case's studies; the requester also says what is to be read and attaches studies
    (one form each, told apart by ``intent``)."""
    user = signed_in(request)
    consultation = imaging_case(request, consultation_id)
    wanted = ImagingRequest.objects.filter(consultation=consultation).first()
    form = AttachForm()
    request_form = ImagingRequestForm(
        initial={"modality": wanted.modality, "body_part": wanted.body_part} if wanted else None
    )
    status = 200
    error = ""
    if request.method == "POST":
        status = 422
        setting = request.POST.get("intent") == "request"
        bound: AttachForm | ImagingRequestForm
        if setting:
            bound = request_form = ImagingRequestForm(request.POST)
        else:
            bound = form = AttachForm(request.POST)
        if bound.is_valid():
            try:
                if isinstance(bound, ImagingRequestForm):
                    services.set_request(user, consultation, **bound.cleaned_data)
                    done = _("What is to be read is saved.")
                else:
                    study = queries.get_study(user, bound.cleaned_data["study"])
                    services.attach_study(user, consultation, study)
                    done = _("The study is attached to the case.")
            except NotFound:
                form.add_error("study", _("No such study among yours."))
                status = 404
            except DomainError as problem:
                error = failure(problem)
                status = problem.status
            else:
                messages.success(request, done)
                return redirect("imaging:case", consultation_id=consultation.pk)
    context = _context(request, consultation)
    context.update(
        form=form,
        request_form=request_form,
        wanted=wanted,
        error=error,
        candidates=_candidates(request, consultation) if context["may_attach"] else [],
    )
    return render(request, "imaging/case.html", context, status=status)
