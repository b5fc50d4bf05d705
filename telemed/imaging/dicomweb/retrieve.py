"""WADO-RS: instances as stored (multipart/related of application/dicom parts, streamed
from the blob store), metadata as DICOM JSON, frames, and rendered images (PS3.18 10.4).

A reader outside the network who receives a study de-identified (``confidentiality``) gets
the instances and metadata through the profile, with their pseudonymous UIDs, and addresses
the study by those; frames and rendered images are the stored pixels (identity burned into
the pixels is out of the profile's reach)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pydicom
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from PIL import Image
from pydicom.encaps import generate_frames
from pydicom.uid import UID

from telemed.accounts.models import User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.imaging import queries
from telemed.imaging.confidentiality import part10
from telemed.imaging.confidentiality.profile import deidentify
from telemed.imaging.confidentiality.pseudonyms import StudyReplacements
from telemed.imaging.confidentiality.release import Release
from telemed.imaging.dicomweb.common import DICOM, DICOM_JSON, DicomwebError, accepts
from telemed.imaging.models import ImagingInstance, ImagingStudy
from telemed.storage.base import CHUNK_SIZE
from telemed.storage.blobstore import get_blob_store

# Rendering decodes one whole instance; refuse what would not fit a viewer anyway.
MAX_RENDER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Found:
    """The instances a path addresses, and how they go out to this reader."""

    study: ImagingStudy
    instances: QuerySet[ImagingInstance]
    release: Release
    # The study's pseudonyms when it goes out de-identified, else None (as stored).
    replacements: StudyReplacements | None


def _not_found(user: User, object_id: str) -> DicomwebError:
    audit.denied(
        user,
        Action.READ,
        object_type="imaging_instance",
        object_id=object_id[:80],
        reason="not in scope",
    )
    return DicomwebError(404, _("No such series or instance."), code="not_found")


def _released(user: User, release: Release, study: ImagingStudy, pseudonymous: bool) -> None:
    # A reader who receives the study de-identified addresses it by the pseudonyms they were
    # given; its stored UIDs are not an address for them (that would confirm them).
    if release.deidentifies(study) and not pseudonymous:
        audit.denied(
            user,
            Action.READ,
            object_type="imaging_study",
            object_id=study.pk,
            reason="stored UIDs asked by a reader who receives the study de-identified",
        )
        raise DicomwebError(404, _("No such series or instance."), code="not_found")


def instances_of(user: User, study_uid: str, series_uid: str = "", instance_uid: str = "") -> Found:
    """The visible study and the instances addressed under it (404 when none)."""
    release = Release(user)
    addressed = release.address(study_uid, series_uid, instance_uid)
    study = queries.study_by_uid(user, addressed.study, audit_read=False)
    _released(user, release, study, addressed.pseudonymous)
    instances = (
        queries.visible_instances(user)
        .filter(study=study)
        .select_related("blob", "series")
        .order_by("series__series_number", "series_id", "instance_number", "pk")
    )
    if addressed.series:
        instances = instances.filter(series__series_instance_uid=addressed.series)
    if addressed.instance:
        instances = instances.filter(sop_instance_uid=addressed.instance)
    if not instances.exists():
        raise DicomwebError(404, _("No such series or instance."), code="not_found")
    return Found(study, instances, release, release.replacements(study))


def _one_instance(
    user: User, study: str, series: str, instance: str
) -> tuple[ImagingInstance, Release]:
    """One instance by its full path, in one query (frames are fetched one request each)."""
    release = Release(user)
    addressed = release.address(study, series, instance)
    row = (
        queries.visible_instances(user)
        .filter(
            study__study_instance_uid=addressed.study,
            series__series_instance_uid=addressed.series,
            sop_instance_uid=addressed.instance,
        )
        .select_related("blob", "study")
        .order_by("pk")
        .first()
    )
    if row is None:
        raise _not_found(user, instance)
    _released(user, release, row.study, addressed.pseudonymous)
    return row, release


# A viewer fetches every frame of a series, one request each: one audit event per user,
# study and kind of read in this window says the same as hundreds, without flooding the
# chain. Whole-instance retrievals (exports) are recorded every time.
READ_AUDIT_WINDOW_SECONDS = 600


def _audit_retrieval(
    user: User, study: ImagingStudy, what: str, count: int, release: Release
) -> None:
    deidentified = release.deidentifies(study)
    if what != "instances":
        key = f"imaging-read:{user.pk}:{study.pk}:{what}:{int(deidentified)}"
        if not cache.add(key, 1, timeout=READ_AUDIT_WINDOW_SECONDS):
            return
    detail: dict[str, object] = {"dicomweb": what, "instances": count}
    if deidentified and release.recipient is not None:
        # Who received a de-identified copy, under which institution's pseudonyms.
        detail.update(deidentified=True, recipient=release.recipient.code)
    audit.record(
        user,
        Action.EXPORT if what == "instances" else Action.READ,
        object_type="imaging_study",
        object_id=study.pk,
        patient_id=study.patient_id,
        detail=detail,
    )


def _multipart(parts: Iterable[tuple[str, Iterable[bytes]]], boundary: str) -> Iterator[bytes]:
    for content_type, chunks in parts:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _stored(instance: ImagingInstance) -> Iterator[bytes]:
    # A full read through the verifying stream: a blob that no longer matches its address
    # ends the response with an error instead of handing out wrong bytes silently.
    with get_blob_store().open(instance.blob.sha256) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk


def _wanted_syntaxes(request: HttpRequest) -> set[str] | None:
    """The transfer syntaxes the Accept header names, or None when any will do (no
    transfer-syntax parameter on some acceptable type, or ``*``)."""
    wanted: set[str] = set()
    for part in (request.META.get("HTTP_ACCEPT", "") or "*/*").split(","):
        params = [p.strip() for p in part.split(";")]
        syntax = next(
            (
                p.split("=", 1)[1].strip().strip('"')
                for p in params[1:]
                if p.lower().startswith("transfer-syntax=")
            ),
            None,
        )
        if syntax is None or syntax == "*":
            return None
        wanted.add(syntax)
    return wanted


def retrieve(
    request: HttpRequest, user: User, study: str, series: str = "", instance: str = ""
) -> StreamingHttpResponse:
    """The instances as stored, one application/dicom part each, in their transfer syntax."""
    accepts(request, "multipart/related", DICOM)
    found = instances_of(user, study, series, instance)
    rows = list(found.instances)
    wanted = _wanted_syntaxes(request)
    if wanted is not None and any(row.transfer_syntax_uid not in wanted for row in rows):
        raise DicomwebError(
            406,
            _(
                "Instances are served in the transfer syntax they were received in; ask with transfer-syntax=*."
            ),
            code="not_acceptable",
        )
    _audit_retrieval(user, found.study, "instances", len(rows), found.release)
    replacements = found.replacements
    if replacements is not None:
        # The addresses the reader may use next are written before the bytes go out.
        _issue_addresses(replacements, found.study, rows)
        found.release.save()
    boundary = uuid.uuid4().hex
    parts = (
        (DICOM, _stored(row) if replacements is None else part10.deidentified(row, replacements))
        for row in rows
    )
    response = StreamingHttpResponse(
        _multipart(parts, boundary),
        content_type=f'multipart/related; type="{DICOM}"; boundary={boundary}',
    )
    return response


def _issue_addresses(
    replacements: StudyReplacements, study: ImagingStudy, rows: list[ImagingInstance]
) -> None:
    replacements.uid(study.study_instance_uid)
    for row in rows:
        replacements.uid(row.series.series_instance_uid)
        replacements.uid(row.sop_instance_uid)


def _header(instance: ImagingInstance) -> pydicom.Dataset:
    """The stored instance up to its pixel data, read by range (pixel data never read)."""
    store = get_blob_store()
    if instance.pixel_data_tag_offset is not None:
        data = b"".join(store.iter_chunks(instance.blob.sha256, 0, instance.pixel_data_tag_offset))
    else:
        data = b"".join(store.iter_chunks(instance.blob.sha256))
    return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)


def metadata(
    request: HttpRequest, user: User, study: str, series: str = "", instance: str = ""
) -> HttpResponse:
    accepts(request, DICOM_JSON, "application/json")
    found = instances_of(user, study, series, instance)
    answers = []
    for row in found.instances:
        header = _header(row)
        if found.replacements is not None:
            deidentify(header, found.replacements)
        answer = header.to_json_dict(bulk_data_threshold=1024 * 1024)
        answer["00020010"] = {"vr": "UI", "Value": [row.transfer_syntax_uid]}
        answers.append(answer)
    found.release.save()
    _audit_retrieval(user, found.study, "metadata", len(answers), found.release)
    return HttpResponse(json.dumps(answers), content_type=DICOM_JSON)


def _frame_numbers(text: str, count: int) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DicomwebError(400, _("Frame numbers are integers."), code="bad_request") from None
    if not numbers or any(n < 1 or n > count for n in numbers):
        raise DicomwebError(
            404,
            _("Frames are numbered 1 to %(count)s.") % {"count": count},
            code="not_found",
        )
    return numbers


def _native_frames(row: ImagingInstance, numbers: list[int]) -> Iterator[bytes]:
    store = get_blob_store()
    rows, columns = row.rows or 0, row.columns or 0
    frame_bytes = rows * columns * row.samples_per_pixel * (row.bits_allocated or 8) // 8
    base = row.pixel_data_offset or 0
    for number in numbers:
        start = base + (number - 1) * frame_bytes
        yield b"".join(store.iter_chunks(row.blob.sha256, start, start + frame_bytes))


def _encapsulated_frames(row: ImagingInstance, numbers: list[int]) -> Iterator[bytes]:
    store = get_blob_store()
    start = row.pixel_data_offset or 0
    data = b"".join(store.iter_chunks(row.blob.sha256, start))
    wanted = set(numbers)
    frames: dict[int, bytes] = {}
    for index, frame in enumerate(generate_frames(data, number_of_frames=row.frame_count), start=1):
        if index in wanted:
            frames[index] = frame
        if index >= max(wanted):
            break
    for number in numbers:
        yield frames[number]


def frames(
    request: HttpRequest, user: User, study: str, series: str, instance: str, numbers: str
) -> HttpResponse:
    """The frames' pixel data: native frames as byte ranges of the stored file, compressed
    frames as stored (their transfer syntax named on each part)."""
    accepts(request, "multipart/related", "application/octet-stream")
    row, release = _one_instance(user, study, series, instance)
    wanted = _frame_numbers(numbers, row.frame_count)
    if row.pixel_data_offset is None:
        raise DicomwebError(404, _("This instance has no pixel data."), code="not_found")
    syntax = UID(row.transfer_syntax_uid)
    if syntax.is_encapsulated:
        content_type = f"application/octet-stream; transfer-syntax={syntax}"
        pixels = _encapsulated_frames(row, wanted)
    else:
        content_type = "application/octet-stream"
        pixels = _native_frames(row, wanted)
    _audit_retrieval(user, row.study, "frames", 1, release)
    boundary = uuid.uuid4().hex
    body = b"".join(_multipart(((content_type, [frame]) for frame in pixels), boundary))
    return HttpResponse(
        body,
        content_type=f'multipart/related; type="application/octet-stream"; boundary={boundary}',
    )


def _window(dataset: pydicom.Dataset, pixels: np.ndarray) -> np.ndarray:
    values = pixels.astype(np.float64)
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    values = values * slope + intercept
    center, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = max(float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width), 1)
        low, high = center - width / 2, center + width / 2
    else:
        low, high = float(values.min()), float(values.max())
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0, 1) * 255
    if str(dataset.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255 - scaled
    return scaled.astype(np.uint8)


def rendered(
    request: HttpRequest, user: User, study: str, series: str, instance: str
) -> HttpResponse:
    """The first frame (or ``?frame=N``) as JPEG or PNG, windowed as the instance says."""
    media_type = accepts(request, "image/jpeg", "image/png")
    found = instances_of(user, study, series, instance)
    row = found.instances.get()
    if row.size > MAX_RENDER_BYTES:
        raise DicomwebError(413, _("This instance is too large to render."), code="too_large")
    with get_blob_store().open(row.blob.sha256) as stream:
        dataset = pydicom.dcmread(io.BytesIO(stream.read()))
    try:
        number = int(request.GET.get("frame", "1"))
    except ValueError:
        raise DicomwebError(400, _("Frame numbers are integers."), code="bad_request") from None
    if number < 1 or number > row.frame_count:
        raise DicomwebError(404, _("No such frame."), code="not_found")
    try:
        pixels = dataset.pixel_array
    except Exception:
        raise DicomwebError(
            422, _("The pixel data of this instance cannot be decoded."), code="undecodable"
        ) from None
    if row.frame_count > 1:
        pixels = pixels[number - 1]
    color = pixels.ndim == 3
    if color:
        if str(dataset.get("PhotometricInterpretation", "")).startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, str(dataset.PhotometricInterpretation), "RGB")
        image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    else:
        image = Image.fromarray(_window(dataset, pixels), "L")
    output = io.BytesIO()
    image.save(output, format="PNG" if media_type == "image/png" else "JPEG", quality=90)
    _audit_retrieval(user, found.study, "rendered", 1, found.release)
    return HttpResponse(output.getvalue(), content_type=media_type)
