"""QIDO-RS: search for studies, series and instances (PS3.18 10.6) with DICOM attribute
matching, ``limit``/``offset`` and ``includefield``, over the caller's visible studies.
A reader outside the network matches and receives studies as ``confidentiality`` says."""

from __future__ import annotations

import json
import re

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from pydicom.datadict import keyword_for_tag, tag_for_keyword

from telemed.accounts.models import User
from telemed.imaging import matching, queries
from telemed.imaging.confidentiality import search
from telemed.imaging.confidentiality.profile import clean_identifier
from telemed.imaging.confidentiality.release import Release
from telemed.imaging.dicomweb.common import DICOM_JSON, DicomwebError, accepts

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}
_TAG = re.compile(r"[0-9A-Fa-f]{8}")


def _keyword(name: str) -> str:
    if _TAG.fullmatch(name):
        keyword = keyword_for_tag(int(name, 16)) or ""
        if keyword:
            return str(keyword)
    elif tag_for_keyword(name) is not None:
        return name
    raise DicomwebError(
        400, _("%(name)s is not a DICOM attribute.") % {"name": name[:64]}, code="bad_query"
    )


def _int(request: HttpRequest, name: str, default: int, maximum: int | None = None) -> int:
    value = request.GET.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise DicomwebError(
            400, _("%(name)s must be a number.") % {"name": name}, code="bad_query"
        ) from None
    if number < 0:
        raise DicomwebError(
            400, _("%(name)s must not be negative.") % {"name": name}, code="bad_query"
        )
    return min(number, maximum) if maximum is not None else number


def _search(request: HttpRequest, user: User, level: str, fixed: dict[str, str]) -> HttpResponse:
    accepts(request, DICOM_JSON, "application/json")
    criteria: dict[str, str] = {}
    for name in request.GET:
        if name in _CONTROL:
            continue
        criteria[_keyword(name)] = ",".join(request.GET.getlist(name)).replace(",", "\\")
    criteria.update(fixed)
    included: list[str] = list(matching.DEFAULT_RETURN[level])
    everything = False
    for value in request.GET.getlist("includefield"):
        for name in value.split(","):
            name = name.strip()
            if name == "all":
                everything = True
            elif name:
                included.append(_keyword(name))
    if everything:
        included += [k for k in matching.LEVELS[level] if k not in included]
    included += [k for k in criteria if k not in included]
    limit = _int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _int(request, "offset", 0)
    studies = queries.visible_studies(user)
    release = Release(user)
    try:
        rows = matching.level_queryset(studies, level)
        remaining = criteria
        if release.recipient is not None:
            rows, remaining = search.restrict(release.recipient, level, rows, criteria)
        page = list(matching.apply(rows, level, remaining)[offset : offset + limit])
    except matching.BadMatch as problem:
        raise DicomwebError(400, str(problem), code="bad_query") from None
    queries.record_search(user, level, criteria, len(page))
    owners = [row if level == "STUDY" else row.study for row in page]
    release.decide(owners)
    answers = []
    for row, study in zip(page, owners, strict=True):
        identifier = matching.identifier(row, level, included)
        replacements = release.replacements(study)
        if replacements is not None:
            clean_identifier(identifier, replacements)
        answer = identifier.to_json_dict()
        answer.pop("00080005", None)
        answers.append(answer)
    release.save()
    return HttpResponse(json.dumps(answers), content_type=DICOM_JSON)


def search_studies(request: HttpRequest, user: User) -> HttpResponse:
    return _search(request, user, "STUDY", {})


def search_series(request: HttpRequest, user: User, study: str = "") -> HttpResponse:
    return _search(request, user, "SERIES", {"StudyInstanceUID": study} if study else {})


def search_instances(
    request: HttpRequest, user: User, study: str = "", series: str = ""
) -> HttpResponse:
    fixed = {}
    if study:
        fixed["StudyInstanceUID"] = study
    if series:
        fixed["SeriesInstanceUID"] = series
    return _search(request, user, "IMAGE", fixed)
