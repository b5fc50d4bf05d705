"""Received studies: the scoped list, one study with its series, and the browser upload
(STOW-RS with a progress bar)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from telemed.core.errors import NotFound
from telemed.imaging import queries
from telemed.imaging.confidentiality.disclosure import identified_condition, outside_recipient
from telemed.imaging.views.common import dicomweb_base, series_of, shown_studies
from telemed.web.access import page, signed_in

PAGE_SIZE = 50


@page("imaging:studies")
def study_list(request: HttpRequest) -> HttpResponse:
    """The studies the user's institution sent (or, for regional staff, their region's)."""
    user = signed_in(request)
    unlinked = request.GET.get("unlinked") == "1"
    text = request.GET.get("q", "").strip()[:64]
    studies = queries.visible_studies(user).select_related("patient", "institution")
    if unlinked:
        studies = studies.filter(patient__isnull=True)
    if text:
        condition = (
            Q(patient_dicom_id=text)
            | Q(accession_number=text)
            | Q(patient_name__icontains=text)
            | Q(study_description__icontains=text)
        )
        recipient = outside_recipient(user)
        if recipient is not None:
            # What a reader outside the network does not see is not searched for them either.
            condition &= identified_condition(recipient)
        studies = studies.filter(condition)
    paginator = Paginator(studies, PAGE_SIZE)
    listing = paginator.get_page(request.GET.get("page"))
    queries.record_search(
        user,
        "STUDY",
        {"unlinked": str(unlinked), "q": text, "page": str(listing.number)},
        paginator.count,
    )
    return render(
        request,
        "imaging/study_list.html",
        {
            "listing": listing,
            "rows": shown_studies(user, list(listing)),
            "unlinked": unlinked,
            "q": text,
            "total": paginator.count,
        },
    )


@page("imaging:study")
def study_detail(request: HttpRequest, study_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        study = queries.get_study(user, study_id)
    except NotFound:
        raise Http404("study not found") from None
    cases = [link.consultation for link in study.cases.select_related("consultation")]
    return render(
        request,
        "imaging/study_detail.html",
        {
            "study": shown_studies(user, [study])[0],
            "series": series_of(user, [study]),
            "cases": cases,
        },
    )


@page("imaging:upload")
def upload(request: HttpRequest) -> HttpResponse:
    """The page only: the browser posts the files to STOW-RS itself, so they stream from
    disk and the progress bar is the upload's own."""
    return render(request, "imaging/upload.html", {"stow_url": dicomweb_base()})
