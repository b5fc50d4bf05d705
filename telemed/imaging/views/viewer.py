"""The reader's viewer: the page that lists a case's (or one study's) series; the images
themselves are read by the browser from the scoped DICOMweb (metadata, frames, rendered)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from telemed.core.errors import NotFound
from telemed.imaging import queries
from telemed.imaging.views.cases import imaging_case
from telemed.imaging.views.common import case_studies, series_of
from telemed.web.access import page, signed_in

# Window/level presets (width, level) in Hounsfield units, as radiology departments use them.
PRESETS = (
    ("lung", 1500, -600),
    ("mediastinum", 350, 50),
    ("bone", 2000, 300),
    ("brain", 80, 40),
    ("abdomen", 400, 50),
)


def _render(request: HttpRequest, context: dict[str, object]) -> HttpResponse:
    context["presets"] = [
        {"code": code, "width": width, "level": level} for code, width, level in PRESETS
    ]
    return render(request, "imaging/viewer.html", context)


@page("imaging:case_viewer")
def case_viewer(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user = signed_in(request)
    consultation = imaging_case(request, consultation_id)
    studies = case_studies(user, consultation)
    return _render(
        request,
        {"consultation": consultation, "study": None, "series": series_of(user, studies)},
    )


@page("imaging:study_viewer")
def study_viewer(request: HttpRequest, study_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        study = queries.get_study(user, study_id)
    except NotFound:
        raise Http404("study not found") from None
    return _render(
        request, {"consultation": None, "study": study, "series": series_of(user, [study])}
    )
