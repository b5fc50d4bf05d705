"""The pathology pages: a case's slides in the viewer, and the streaming slide upload.

``POST /pathology/uploads/<case>/slides``: the raw file as the request body, its name
URL-encoded in ``X-File-Name``, the stain in ``X-Slide-Stain``; a session (CSRF token in
``X-CSRFToken``) or an OAuth2 bearer token. The declared length is checked before a byte
of the body is read (413); the body streams into the blob store.
"""

from __future__ import annotations

from urllib.parse import unquote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from telemed.consultations.attachments import may_attach
from telemed.consultations.workflow import access
from telemed.core.auth import caller, csrf_refusal
from telemed.core.errors import DomainError, error_response
from telemed.pathology import queries, report, services, slides
from telemed.pathology.api import slide_json
from telemed.pathology.models import AnnotationKind

UPLOAD_PREFIX = "/pathology/uploads/"


@csrf_exempt  # a bearer token needs none; a session caller is checked below
@require_POST
def upload(request: HttpRequest, consultation_id: int) -> JsonResponse:
    actor, by_token = caller(request)
    if actor is None:
        return error_response(
            401, "unauthenticated", gettext("Sign in or send a valid bearer token")
        )
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared:
        return error_response(
            411, "length_required", gettext("Send the file with its Content-Length.")
        )
    try:
        size = int(declared)
        if size < 0:
            raise ValueError(declared)
    except ValueError:
        return error_response(400, "bad_request", gettext("Invalid Content-Length"))
    limit = slides.max_bytes()
    if size > limit:
        return error_response(
            413,
            "too_large",
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            max_bytes=limit,
        )
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        # Keeps form encodings out: the CSRF check below would parse them into memory.
        return error_response(
            415,
            "unsupported_media_type",
            gettext("Send the slide file itself as the request body."),
        )
    if not by_token and csrf_refusal(request) is not None:
        return error_response(403, "csrf_failed", gettext("Send the CSRF token in X-CSRFToken."))
    name = unquote(request.headers.get("X-File-Name", ""), errors="replace")
    stain = unquote(request.headers.get("X-Slide-Stain", ""), errors="replace")
    try:
        slide = services.register_slide(
            actor, consultation_id, request, name, declared_size=size, stain=stain
        )
    except DomainError as error:
        return error_response(error.status, error.code, error.message, **error.details)
    return JsonResponse(slide_json(slide, actor), status=201, json_dumps_params={"default": str})


def _viewer_text() -> dict[str, object]:
    return {
        "open_failed": gettext("The slide could not be opened."),
        "upload_failed": gettext("The upload was interrupted."),
        "key_image_saved": gettext("The view is saved as a key image for the report."),
        "delete": gettext("Delete"),
        "kinds": {kind.value: str(kind.label) for kind in AnnotationKind},
    }


@login_required
def report_pdf(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """The latest signed pathology report as a PDF."""
    try:
        data, name = report.export(request.user, consultation_id)  # type: ignore[arg-type]
    except DomainError as error:
        return render(request, "404.html", {"message": error.message}, status=error.status)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name) or "attachment"
    return response


@login_required
def case_viewer(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """The case's slides side by side in the viewer, with their annotations."""
    user = request.user
    try:
        consultation = access(user, consultation_id)  # type: ignore[arg-type]
        case_slides = queries.case_slides(user, consultation_id)  # type: ignore[arg-type]
    except DomainError as error:
        return render(request, "404.html", {"message": error.message}, status=error.status)
    return render(
        request,
        "pathology/case.html",
        {
            "consultation": consultation,
            "slides": case_slides,
            "slides_json": [slide_json(s, user) for s in case_slides],  # type: ignore[arg-type]
            "may_upload": may_attach(user, consultation),  # type: ignore[arg-type]
            "viewer_text": _viewer_text(),
        },
    )
