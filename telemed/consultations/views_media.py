"""Plain Django views for a case's files, video and printable conclusion.

* ``POST /uploads/consultations/<id>/attachments``: the raw file as the request body, its
  media type as Content-Type, its name URL-encoded in ``X-File-Name``. A session (with the
  CSRF token in ``X-CSRFToken``) or an OAuth2 bearer token. The declared length is checked
  before a byte of the body is read (413), then the type (415); the body is streamed into
  the blob store. ``/uploads/`` is exempt from the general request size limit for this.
* ``GET /consultations/<id>/attachments/<attachment_id>``: the file, streamed, with single
  byte ranges (206) for resuming and for viewers that seek.
* ``GET /consultations/<id>/conclusion.pdf[?version=N]``: the signed conclusion as a PDF.
* ``GET /consultations/<id>/video/join``: records the join and redirects to Jitsi;
  ``POST /consultations/<id>/video/open`` opens the room first when none is open.
* ``GET /consultations/<id>/media``: the media panel alone (refreshed after an upload).

Under ASGI, Django reads a request's whole body (into a temporary file that spills to disk)
before any view or middleware runs; ``UploadSizeGuard`` wraps the ASGI application so that an
oversized upload is refused by its Content-Length before that happens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from telemed.consultations import attachments, pdf, video
from telemed.consultations.workflow import access
from telemed.core.auth import caller, csrf_refusal
from telemed.core.errors import DomainError, NotFound, error_response
from telemed.storage.base import CHUNK_SIZE
from telemed.storage.blobstore import get_blob_store

if TYPE_CHECKING:
    from telemed.accounts.models import User
    from telemed.consultations.models import Attachment, Consultation

logger = logging.getLogger(__name__)

UPLOAD_PREFIX = "/uploads/consultations/"
# Types a browser may show in place (with ?inline=1); everything else is a download.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


# -- who is calling ----------------------------------------------------------------------


def _sign_in_first(request: HttpRequest, by_token: bool) -> HttpResponseBase:
    if by_token:
        return error_response(
            401, "unauthenticated", gettext("Sign in or send a valid bearer token")
        )
    return redirect_to_login(request.get_full_path())


# -- attachments -------------------------------------------------------------------------


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    uploader = attachment.uploaded_by
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.blob_id,
        "uploaded_by": {
            "id": uploader.pk,
            "username": uploader.get_username(),
            "name": uploader.get_full_name() or uploader.get_username(),
        },
        "uploaded_at": attachment.uploaded_at.isoformat(),
        "url": reverse(
            "consultation_media:attachment",
            args=[attachment.consultation_id, attachment.pk],
        ),
    }


@csrf_exempt  # bearer callers need none; session callers are checked in the view
@require_POST
def upload(request: HttpRequest, consultation_id: int) -> JsonResponse:
    actor, by_token = caller(request)
    if actor is None:
        return error_response(
            401, "unauthenticated", gettext("Sign in or send a valid bearer token")
        )
    # Everything up to the service call reads headers only: the body is still unread.
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
    limit = attachments.max_bytes()
    if size > limit:
        return error_response(
            413,
            "too_large",
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            max_bytes=limit,
        )
    content_type = request.META.get("CONTENT_TYPE", "")
    if not attachments.acceptable_declared_type(content_type):
        # Also keeps form encodings out: the CSRF check below would parse those.
        return error_response(
            415,
            "unsupported_media_type",
            gettext("Files of type %(type)s cannot be attached.")
            % {"type": attachments.normalise_media_type(content_type)},
        )
    if not by_token and csrf_refusal(request) is not None:
        return error_response(403, "csrf_failed", gettext("Send the CSRF token in X-CSRFToken."))
    name = unquote(request.headers.get("X-File-Name", ""), errors="replace")
    try:
        attachment = attachments.add(actor, consultation_id, request, name, content_type, size)
    except DomainError as error:
        return error_response(error.status, error.code, error.message, **error.details)
    return JsonResponse(attachment_json(attachment), status=201)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range ``[first, last]`` (inclusive) from a Range header, None to send the
    whole file (no header, several ranges, or a malformed one, which RFC 9110 lets a server
    ignore); ``Unsatisfiable`` for a range outside the file."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)


def _whole(sha256: str) -> Iterator[bytes]:
    """The whole blob through the verifying reader (a corrupt blob fails at its end, and
    the response is cut short rather than completed with wrong bytes)."""
    with get_blob_store().open(sha256) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    pull = sync_to_async(_next_chunk, thread_sensitive=False)
    try:
        while True:
            chunk = await pull(chunks)
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=False)()


def streamed(
    request: HttpRequest, chunks: Iterator[bytes]
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Under ASGI, Django buffers a synchronous iterator whole before sending it; hand it
    an asynchronous one there so that a big file still goes out chunk by chunk."""
    if isinstance(request, ASGIRequest):
        return _async_chunks(chunks)
    return chunks


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, consultation_id: int, attachment_id: int) -> HttpResponseBase:
    actor, by_token = caller(request)
    if actor is None:
        return _sign_in_first(request, by_token)
    range_header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range", "")
    try:
        attachment = attachments.for_download(
            actor, consultation_id, attachment_id, byte_range=range_header
        )
    except NotFound:
        raise Http404("no such attachment") from None
    sha256, size = attachment.blob_id, attachment.size
    etag = f'"{sha256}"'
    if if_range and if_range != etag:
        range_header = ""  # the file changed since the client's copy: send it whole
    try:
        wanted = parse_range(range_header, size)
    except Unsatisfiable:
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = StreamingHttpResponse(
            streamed(request, _whole(sha256)), content_type=attachment.content_type
        )
        response["Content-Length"] = str(size)
    else:
        first, last = wanted
        chunks = get_blob_store().iter_chunks(sha256, first, last + 1)
        response = StreamingHttpResponse(
            streamed(request, iter(chunks)), status=206, content_type=attachment.content_type
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    inline = request.GET.get("inline") == "1" and attachment.content_type in INLINE_TYPES
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=not inline, filename=attachment.name) or ""
    )
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- the printable conclusion ------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def conclusion_pdf(request: HttpRequest, consultation_id: int) -> HttpResponseBase:
    actor, by_token = caller(request)
    if actor is None:
        return _sign_in_first(request, by_token)
    version_text = request.GET.get("version", "")
    version = None
    if version_text:
        if not version_text.isdigit() or len(version_text) > 5:
            raise Http404("no such version")
        version = int(version_text)
    try:
        data, filename = pdf.export(actor, consultation_id, version)
    except NotFound:
        raise Http404("no signed conclusion") from None
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(
            as_attachment=request.GET.get("download") == "1", filename=filename
        )
        or ""
    )
    response["Cache-Control"] = "private, no-store"
    return response


# -- video -------------------------------------------------------------------------------


def _back(request: HttpRequest, error: DomainError) -> HttpResponseBase:
    """Back to the page the person came from, with the reason; a plain answer otherwise."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        messages.error(request, error.message)
        return HttpResponseRedirect(referer)
    return HttpResponse(
        error.message, status=error.status, content_type="text/plain; charset=utf-8"
    )


def _jitsi(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    # The link carries a token: keep it out of shared caches and of Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET"])
def video_join(request: HttpRequest, consultation_id: int) -> HttpResponseBase:
    actor, by_token = caller(request)
    if actor is None:
        return _sign_in_first(request, by_token)
    try:
        link = video.join(actor, consultation_id)
    except NotFound:
        raise Http404("no such consultation") from None
    except DomainError as error:
        return _back(request, error)
    return _jitsi(link.url)


@login_required
@require_POST
def video_open(request: HttpRequest, consultation_id: int) -> HttpResponseBase:
    actor: User = request.user  # type: ignore[assignment]
    try:
        link = video.join(actor, consultation_id, open_if_needed=True)
    except NotFound:
        raise Http404("no such consultation") from None
    except DomainError as error:
        return _back(request, error)
    return _jitsi(link.url)


# -- the panel on the case page ----------------------------------------------------------


def panel_context(user: User, consultation: Consultation) -> dict[str, Any]:
    """What ``consultations/partials/media.html`` shows, for a case already read in scope."""
    sessions = list(consultation.video_sessions.select_related("opened_by").order_by("-opened_at"))
    current = next((s for s in sessions if s.closed_at is None), None)
    on_the_case = video.may_take_part(user, consultation)
    return {
        "attachments": list(consultation.attachments.select_related("uploaded_by")),
        "may_attach": attachments.may_attach(user, consultation),
        "upload_url": reverse("consultation_media:upload", args=[consultation.pk]),
        "panel_url": reverse("consultation_media:panel", args=[consultation.pk]),
        "max_bytes": attachments.max_bytes(),
        "accept": attachments.ACCEPT,
        "video_configured": video.configured(),
        "video_session": current,
        "video_sessions": [(s, video.joins_of(s)) for s in sessions],
        "may_open_video": current is None and video.may_open(user, consultation),
        "may_join_video": current is not None
        and on_the_case
        and video.may_open(user, consultation),
        "conclusions": list(consultation.conclusions.order_by("-version")),
    }


@login_required
@require_http_methods(["GET"])
def panel(request: HttpRequest, consultation_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        consultation = access(user, consultation_id)
    except NotFound:
        raise Http404("no such consultation") from None
    return render(
        request,
        "consultations/partials/media.html",
        {"consultation": consultation, "user": user},
    )
