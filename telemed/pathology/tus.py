"""Resumable slide uploads with the tus protocol (1.0.0, the ``creation`` extension) at the
hub: the browser's upload form and, later, the edge gateway send slides through it.

* ``OPTIONS /pathology/tus/``: the protocol's version, extensions and maximum size.
* ``POST /pathology/tus/`` with ``Upload-Length`` and ``Upload-Metadata`` (base64 values:
  ``consultation``, ``filename``, optional ``stain`` and ``sha256``; an edge gateway
  bringing the file of a slide it registered adds ``slide``, its id): 201 and the upload's
  ``Location``. The case is checked here (scope 404, part 403, kind 409), before any byte.
* ``HEAD <location>``: ``Upload-Offset``, so a client resumes after a dropped link or a
  restart without sending again what arrived.
* ``PATCH <location>`` with ``Upload-Offset`` and ``application/offset+octet-stream``: the
  next bytes. What arrives before a dropped connection is kept. When the last byte is in,
  the file is hashed (against the announced ``sha256``), stored and registered like any
  slide; a refusal (unreadable, not the announced checksum, ...) answers its 4xx reason
  and the upload ends failed (410 afterwards), with nothing half-registered.

The bytes so far lie in ``VAR_DIR/pathology/uploads/<id>.part`` (the id is a UUID the hub
made, never a client's name); one PATCH at a time per upload (a file lock; 409 otherwise).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import UnreadablePostError
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from telemed.consultations.workflow import access
from telemed.core import clock
from telemed.core.auth import caller, csrf_refusal
from telemed.core.errors import DomainError, ValidationFailed, error_response
from telemed.pathology import edge_services, services, slides
from telemed.pathology.models import Slide, SlideUpload, UploadState
from telemed.storage.base import CHUNK_SIZE

if TYPE_CHECKING:
    from telemed.accounts.models import User

PREFIX = "/pathology/tus/"
VERSION = "1.0.0"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parts_dir() -> Path:
    return Path(settings.VAR_DIR) / "pathology" / "uploads"


def part_path(upload: SlideUpload) -> Path:
    return parts_dir() / f"{uuid.UUID(str(upload.id)).hex}.part"


def _headers(response: HttpResponse, **extra: str) -> HttpResponse:
    response["Tus-Resumable"] = VERSION
    response["Cache-Control"] = "no-store"
    for name, value in extra.items():
        response[name.replace("_", "-")] = value
    return response


def _refuse(status: int, code: str, message: str, **extra: object) -> HttpResponse:
    return _headers(error_response(status, code, message, **extra))


def _metadata(header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(key) from error
    return found


@csrf_exempt  # a bearer token needs none; a session caller is checked in each method
def collection(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _headers(
            HttpResponse(status=204),
            Tus_Version=VERSION,
            Tus_Extension="creation",
            Tus_Max_Size=str(slides.max_bytes()),
        )
    if request.method != "POST":
        return _refuse(405, "method_not_allowed", gettext("Use OPTIONS or POST here."))
    actor, by_token = caller(request)
    if actor is None:
        return _refuse(401, "unauthenticated", gettext("Sign in or send a valid bearer token"))
    if not by_token and csrf_refusal(request) is not None:
        return _refuse(403, "csrf_failed", gettext("Send the CSRF token in X-CSRFToken."))
    if request.headers.get("Tus-Resumable") != VERSION:
        return _refuse(412, "tus_version", gettext("Only tus 1.0.0 is spoken here."))
    try:
        length = int(request.headers.get("Upload-Length", ""))
        meta = _metadata(request.headers.get("Upload-Metadata", ""))
        consultation_id = int(meta.get("consultation", ""))
    except ValueError:
        return _refuse(
            400,
            "bad_request",
            gettext("Send Upload-Length and the case's id in Upload-Metadata (base64)."),
        )
    limit = slides.max_bytes()
    if length <= 0 or length > limit:
        return _refuse(
            413,
            "too_large",
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            max_bytes=limit,
        )
    expected = meta.get("sha256", "").strip().lower()
    if expected and not SHA256.match(expected):
        return _refuse(400, "bad_request", gettext("The sha256 metadata is not a SHA-256."))
    try:
        consultation = access(actor, consultation_id)
        services.check_may_add(actor, consultation)
        registered = _registered_slide(actor, meta, consultation_id, length, expected)
    except DomainError as error:
        return _refuse(error.status, error.code, error.message)
    except ValueError:
        return _refuse(400, "bad_request", gettext("The slide metadata is not a slide's id."))
    if registered is not None:
        expected = registered.sha256
    upload = SlideUpload.objects.create(
        id=uuid.uuid4(),
        consultation=consultation,
        slide=registered,
        uploader=actor,
        name=meta.get("filename", "")[:200],
        stain=meta.get("stain", "")[:64],
        length=length,
        expected_sha256=expected,
        created_at=clock.now(),
    )
    parts_dir().mkdir(parents=True, exist_ok=True)
    part_path(upload).touch()
    return _headers(HttpResponse(status=201), Location=f"{PREFIX}{upload.pk}")


def _registered_slide(
    actor: User, meta: dict[str, str], consultation_id: int, length: int, expected: str
) -> Slide | None:
    """The registered slide an edge gateway's upload brings the file of (metadata
    ``slide``), checked before any byte: the edge's own, still waiting, on this case, of
    the registered length and (when announced) checksum."""
    if "slide" not in meta:
        return None
    slide = edge_services.check_may_send(actor, int(meta["slide"]), length)
    if slide.consultation_id != consultation_id:
        raise ValidationFailed(gettext("The slide is on another case."))
    if expected and expected != slide.sha256:
        raise ValidationFailed(
            gettext("The announced SHA-256 is not the one the slide was registered with.")
        )
    return slide


@csrf_exempt
def resource(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    actor, by_token = caller(request)
    if actor is None:
        return _refuse(401, "unauthenticated", gettext("Sign in or send a valid bearer token"))
    upload = SlideUpload.objects.visible_to(actor).filter(pk=upload_id).first()
    if upload is None:
        return _refuse(404, "not_found", gettext("Upload not found"))
    if upload.state == UploadState.FAILED:
        return _refuse(410, "upload_failed", upload.failure_reason)
    if request.method == "HEAD":
        return _headers(
            HttpResponse(status=200),
            Upload_Offset=str(upload.offset),
            Upload_Length=str(upload.length),
        )
    if request.method != "PATCH":
        return _refuse(405, "method_not_allowed", gettext("Use HEAD or PATCH here."))
    if not by_token and csrf_refusal(request) is not None:
        return _refuse(403, "csrf_failed", gettext("Send the CSRF token in X-CSRFToken."))
    if request.META.get("CONTENT_TYPE", "") != "application/offset+octet-stream":
        return _refuse(
            415, "unsupported_media_type", gettext("Send application/offset+octet-stream.")
        )
    if upload.state == UploadState.DONE:
        return _headers(HttpResponse(status=204), Upload_Offset=str(upload.offset))
    return _append(request, upload)


def _append(request: HttpRequest, upload: SlideUpload) -> HttpResponse:
    path = part_path(upload)
    with path.open("ab") as out:
        try:
            fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _refuse(409, "conflict", gettext("Another request is sending this upload."))
        offset = out.tell()
        if request.headers.get("Upload-Offset") != str(offset):
            return _refuse(
                409,
                "offset_mismatch",
                gettext("The upload is at byte %(offset)s.") % {"offset": offset},
                offset=offset,
            )
        remaining = upload.length - offset
        try:
            while remaining > 0:
                chunk = request.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
        except (OSError, UnreadablePostError):
            pass  # the link dropped: keep what arrived, the client resumes from there
        out.flush()
        os.fsync(out.fileno())
        offset = out.tell()
    SlideUpload.objects.filter(pk=upload.pk).update(offset=offset)
    if offset < upload.length:
        return _headers(HttpResponse(status=204), Upload_Offset=str(offset))
    return _finish(upload, path)


def _finish(upload: SlideUpload, path: Path) -> HttpResponse:
    if upload.slide_id is not None:
        return _finish_registered(upload, path)
    try:
        with path.open("rb") as stream:
            slide = services.register_slide(
                upload.uploader,
                upload.consultation_id,
                stream,
                upload.name,
                declared_size=upload.length,
                stain=upload.stain,
                expected_sha256=upload.expected_sha256 or None,
            )
    except DomainError as error:
        with transaction.atomic():
            SlideUpload.objects.filter(pk=upload.pk).update(
                state=UploadState.FAILED, failure_reason=error.message[:300]
            )
        path.unlink(missing_ok=True)
        return _refuse(error.status, error.code, error.message, **error.details)
    SlideUpload.objects.filter(pk=upload.pk).update(state=UploadState.DONE, slide=slide)
    path.unlink(missing_ok=True)
    response = _headers(HttpResponse(status=204), Upload_Offset=str(upload.length))
    response["X-Slide-Id"] = str(slide.pk)
    return response


def _finish_registered(upload: SlideUpload, path: Path) -> HttpResponse:
    """The last byte of an edge's upload: verified against the registered slide, which
    becomes available, or is marked failed with the reason the file was refused."""
    assert upload.slide_id is not None
    try:
        with path.open("rb") as stream:
            slide = edge_services.receive_file(
                upload.uploader, upload.slide_id, stream, upload.length
            )
    except DomainError as error:
        with transaction.atomic():
            SlideUpload.objects.filter(pk=upload.pk).update(
                state=UploadState.FAILED, failure_reason=error.message[:300]
            )
            edge_services.fail(upload.uploader, upload.slide_id, error.message)
        path.unlink(missing_ok=True)
        return _refuse(error.status, error.code, error.message, **error.details)
    SlideUpload.objects.filter(pk=upload.pk).update(state=UploadState.DONE)
    path.unlink(missing_ok=True)
    response = _headers(HttpResponse(status=204), Upload_Offset=str(upload.length))
    response["X-Slide-Id"] = str(slide.pk)
    return response


DEFAULT_ABANDONED_AFTER = 7 * 24 * 3600


def sweep_abandoned() -> int:
    """End uploads that received nothing for ``PATHOLOGY_UPLOAD_ABANDONED_SECONDS`` (a
    week): their partial file is removed and they answer 410 from then on."""
    import datetime as dt

    seconds = int(getattr(settings, "PATHOLOGY_UPLOAD_ABANDONED_SECONDS", DEFAULT_ABANDONED_AFTER))
    cutoff = clock.now().timestamp() - seconds
    ended = 0
    stale = SlideUpload.objects.unscoped("system sweep of abandoned uploads").filter(
        state=UploadState.OPEN, created_at__lt=clock.now() - dt.timedelta(seconds=seconds)
    )
    for upload in stale:
        path = part_path(upload)
        # The creation time alone would end a slow upload still arriving: look at the file.
        if path.exists() and path.stat().st_mtime >= cutoff:
            continue
        path.unlink(missing_ok=True)
        SlideUpload.objects.filter(pk=upload.pk).update(
            state=UploadState.FAILED, failure_reason="abandoned: nothing arrived for too long"
        )
        ended += 1
    return ended
