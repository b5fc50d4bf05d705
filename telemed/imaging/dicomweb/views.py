"""The DICOMweb resources, each dispatching by method to QIDO, WADO or STOW."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase

from telemed.accounts.models import User
from telemed.imaging.dicomweb import qido, retrieve, stow
from telemed.imaging.dicomweb.common import dicomweb_view


@dicomweb_view(("GET", "POST"))
def studies(request: HttpRequest, user: User) -> HttpResponseBase:
    if request.method == "POST":
        return stow.store(request, user)
    return qido.search_studies(request, user)


@dicomweb_view(("GET", "POST"))
def study(request: HttpRequest, user: User, study: str) -> HttpResponseBase:
    if request.method == "POST":
        return stow.store(request, user, study)
    return retrieve.retrieve(request, user, study)


@dicomweb_view(("GET",))
def all_series(request: HttpRequest, user: User, study: str = "") -> HttpResponseBase:
    return qido.search_series(request, user, study)


@dicomweb_view(("GET",))
def all_instances(
    request: HttpRequest, user: User, study: str = "", series: str = ""
) -> HttpResponseBase:
    return qido.search_instances(request, user, study, series)


@dicomweb_view(("GET",))
def series(request: HttpRequest, user: User, study: str, series: str) -> HttpResponseBase:
    return retrieve.retrieve(request, user, study, series)


@dicomweb_view(("GET",))
def instance(
    request: HttpRequest, user: User, study: str, series: str, instance: str
) -> HttpResponseBase:
    return retrieve.retrieve(request, user, study, series, instance)


@dicomweb_view(("GET",))
def metadata(
    request: HttpRequest, user: User, study: str, series: str = "", instance: str = ""
) -> HttpResponseBase:
    return retrieve.metadata(request, user, study, series, instance)


@dicomweb_view(("GET",))
def frames(
    request: HttpRequest, user: User, study: str, series: str, instance: str, numbers: str
) -> HttpResponseBase:
    return retrieve.frames(request, user, study, series, instance, numbers)


@dicomweb_view(("GET",))
def rendered(
    request: HttpRequest, user: User, study: str, series: str, instance: str
) -> HttpResponseBase:
    return retrieve.rendered(request, user, study, series, instance)
