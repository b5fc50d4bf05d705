"""The pathology app's JSON API routes (mounted in telemed/api.py): a case's slides, the
DeepZoom descriptor and tiles, thumbnail, label and macro, annotations and key images.

The upload itself is a plain streaming view (``POST /pathology/uploads/<case>/slides``),
since a JSON API would read the body. Tiles follow the DeepZoom layout next to the
descriptor (``slide.dzi`` and ``slide_files/<level>/<col>_<row>.jpeg``), so any DeepZoom
client finds them; they carry an ETag and may be cached privately for a day.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Router, Status

from telemed.accounts.models import User
from telemed.core.errors import NotFound, ValidationFailed
from telemed.pathology import (
    edge_services,
    geometry,
    queries,
    relay,
    report,
    services,
    slides,
    tile_tokens,
)
from telemed.pathology.models import Annotation, KeyImage, Slide, SlideState
from telemed.pathology.schemas import (
    AnnotationIn,
    AnnotationOut,
    EdgeSlideIn,
    KeyImageIn,
    KeyImageOut,
    ReportIn,
    ReportOut,
    SlideOut,
    UploadNowOut,
)
from telemed.storage.blobstore import get_blob_store

router = Router(tags=["pathology"])
# Patient data: private caches only; the content behind a slide's hash never changes.
CACHE_CONTROL = "private, max-age=86400, immutable"


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def slide_json(slide: Slide, user: User) -> dict[str, Any]:
    base = f"/api/pathology/slides/{slide.pk}"
    label = slide.has_label and queries.may_see_label(user)
    # Only for a slide whose file is here: an edge slide's tiles are relayed by the view.
    token = (
        tile_tokens.issue(user.pk, slide.pk, slide.source)
        if slide.state == SlideState.AVAILABLE and not slide.at_edge
        else None
    )
    return {
        **{
            name: getattr(slide, name)
            for name in (
                "consultation_id",
                "name",
                "stain",
                "state",
                "failure_reason",
                "vendor",
                "width",
                "height",
                "level_count",
                "mpp_x",
                "mpp_y",
                "objective_power",
                "has_label",
                "has_macro",
                "size",
                "sha256",
                "registered_at",
            )
        },
        "id": slide.pk,
        "dzi_url": f"{base}/slide.dzi" + (f"?{tile_tokens.QUERY_NAME}={token}" if token else ""),
        "tile_token": token,
        "tiles_url": f"{base}/slide_files/",
        "thumbnail_url": f"{base}/thumbnail.jpeg",
        "label_url": f"{base}/associated/label.jpeg" if label else None,
        "macro_url": f"{base}/associated/macro.jpeg" if slide.has_macro else None,
        **_edge_json(slide),
    }


def _edge_json(slide: Slide) -> dict[str, Any]:
    if not slide.at_edge:
        return {"at_edge": False, "edge_online": False, "received_bytes": 0}
    return {
        "at_edge": True,
        "edge_online": relay.is_online(slide.uploaded_by_id),
        "received_bytes": queries.received_bytes(slide),
        "upload_requested_at": slide.upload_requested_at,
    }


def annotation_json(annotation: Annotation, user: User) -> dict[str, Any]:
    slide = annotation.slide
    points = annotation.geometry.get("points", [])
    author = annotation.author
    return {
        "id": annotation.pk,
        "slide_id": annotation.slide_id,
        "kind": annotation.kind,
        "points": points,
        "label": annotation.label,
        "author_id": author.pk,
        "author": author.get_full_name() or author.get_username(),
        "mine": author.pk == user.pk,
        "created_at": annotation.created_at,
        "measurements": geometry.measure(annotation.kind, points, slide.mpp_x, slide.mpp_y),
    }


def key_image_json(image: KeyImage) -> dict[str, Any]:
    return {
        **{n: getattr(image, n) for n in ("slide_id", "x", "y", "width", "height", "caption")},
        "id": image.pk,
        "created_at": image.created_at,
        "url": f"/api/pathology/key-images/{image.pk}/image.jpeg",
    }


def _jpeg(request: HttpRequest, data: bytes, etag: str | None = None) -> HttpResponse:
    if etag is not None and request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type="image/jpeg")
    if etag is not None:
        response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


@router.get(
    "/consultations/{int:consultation_id}/slides",
    response=list[SlideOut],
    summary="The slides of a pathology case (upload: POST /pathology/uploads/{id}/slides)",
)
def list_slides(request: HttpRequest, consultation_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    return [slide_json(s, user) for s in queries.case_slides(user, consultation_id)]


@router.get("/slides/{int:slide_id}", response=SlideOut, summary="One slide (opening it)")
def get_slide(request: HttpRequest, slide_id: int) -> dict[str, Any]:
    user = _user(request)
    return slide_json(queries.get_slide(user, slide_id), user)


@router.get("/slides/{int:slide_id}/slide.dzi", summary="The DeepZoom descriptor (opening it)")
def dzi(request: HttpRequest, slide_id: int) -> HttpResponse:
    slide = queries.get_slide(_user(request), slide_id)
    if slide.at_edge:
        # Built from the size the edge announced: the same XML OpenSlide gives once here.
        xml = slides.descriptor_for(int(slide.deepzoom_width), int(slide.deepzoom_height))
    else:
        queries.check_available(slide.state, slide.failure_reason)
        xml = slides.descriptor(slide.source)
    response = HttpResponse(xml, content_type="application/xml")
    response["Cache-Control"] = CACHE_CONTROL
    return response


@router.get(
    "/slides/{int:slide_id}/slide_files/{int:level}/{int:col}_{int:row}.jpeg",
    summary="One DeepZoom tile",
)
def tile(request: HttpRequest, slide_id: int, level: int, col: int, row: int) -> HttpResponse:
    found = queries.tile_source(_user(request), slide_id)
    etag = slides.tile_etag(found.source, level, col, row)
    if request.headers.get("If-None-Match") == etag:
        return _jpeg(request, b"", etag)
    if found.edge_user_id is not None:
        # Still at the sending hospital: relayed from its edge gateway, cached here.
        data = relay.tile(found.edge_user_id, found.source, found.deepzoom_size, (level, col, row))
    else:
        data = slides.tile(found.source, level, col, row)
    return _jpeg(request, data, etag)


@router.get("/slides/{int:slide_id}/thumbnail.jpeg", summary="The slide's thumbnail")
def thumbnail(request: HttpRequest, slide_id: int) -> HttpResponse:
    slide = queries.get_slide(_user(request), slide_id, audit_read=False)
    etag = f'"{slide.sha256[:32]}-{slide.pk}-thumb"'
    if slide.blob_id is None:
        # The thumbnail the edge sent with the registration (the file is not here).
        if slide.thumbnail_blob_id is None:
            raise NotFound(gettext("This slide has no thumbnail yet."))
        with get_blob_store().open(str(slide.thumbnail_blob_id)) as stream:
            return _jpeg(request, stream.read(), etag)  # at most THUMBNAIL_MAX_BYTES
    return _jpeg(request, slides.thumbnail(slide.source), etag)


@router.get(
    "/slides/{int:slide_id}/associated/{name}.jpeg",
    summary="The label (not for external experts) or the macro image",
)
def associated(request: HttpRequest, slide_id: int, name: str) -> HttpResponse:
    user = _user(request)
    if name == "label":
        slide = queries.get_label_slide(user, slide_id)
    else:
        slide = queries.get_slide(user, slide_id, audit_read=False)
    if slide.at_edge:
        if name not in slides.ASSOCIATED:
            raise NotFound(gettext("This slide has no %(name)s image.") % {"name": name})
        return _jpeg(request, relay.associated(slide.uploaded_by_id, slide.source, name))
    queries.check_available(slide.state, slide.failure_reason)
    return _jpeg(request, slides.associated(slide.source, name))


@router.post(
    "/edge/slides",
    response={200: SlideOut, 201: SlideOut},
    summary="An edge gateway registers a slide whose file it keeps for now (201; 200 if known)",
)
def register_edge_slide(request: HttpRequest, body: EdgeSlideIn) -> Status[dict[str, Any]]:
    user = _user(request)
    try:
        thumbnail = base64.b64decode(body.thumbnail_base64, validate=True)
    except binascii.Error:
        raise ValidationFailed(gettext("The thumbnail is not base64.")) from None
    fields = body.dict(exclude={"thumbnail_base64"})
    slide, created = edge_services.register_from_edge(
        user, edge_services.EdgeRegistration(**fields, thumbnail=thumbnail)
    )
    return Status(201 if created else 200, slide_json(slide, user))


@router.post(
    "/slides/{int:slide_id}/upload-now",
    response={202: UploadNowOut},
    summary="Ask the sending hospital's edge to upload the slide's file now (outside its window)",
)
def upload_now(request: HttpRequest, slide_id: int) -> Status[dict[str, Any]]:
    told = edge_services.upload_now(_user(request), slide_id)
    message = (
        gettext("The sending hospital's edge gateway is uploading the file now.")
        if told
        else gettext("The edge gateway is not connected; it will upload when it reconnects.")
    )
    return Status(202, {"told": told, "message": message})


@router.get(
    "/slides/{int:slide_id}/annotations",
    response=list[AnnotationOut],
    summary="Everyone's annotations on the slide",
)
def list_annotations(request: HttpRequest, slide_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    return [annotation_json(a, user) for a in queries.slide_annotations(user, slide_id)]


@router.post(
    "/slides/{int:slide_id}/annotations",
    response={201: AnnotationOut},
    summary="Draw an annotation (points in level-0 slide pixels)",
)
def create_annotation(
    request: HttpRequest, slide_id: int, body: AnnotationIn
) -> Status[dict[str, Any]]:
    user = _user(request)
    new = services.NewAnnotation(kind=body.kind, points=body.points, label=body.label)
    annotation = services.annotate(user, slide_id, new)
    return Status(201, annotation_json(annotation, user))


@router.delete(
    "/annotations/{int:annotation_id}", response={204: None}, summary="Delete your annotation"
)
def delete_annotation(request: HttpRequest, annotation_id: int) -> Status[None]:
    services.delete_annotation(_user(request), annotation_id)
    return Status(204, None)


@router.get("/slides/{int:slide_id}/key-images", response=list[KeyImageOut], summary="Key images")
def list_key_images(request: HttpRequest, slide_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    slide = queries.get_slide(user, slide_id, audit_read=False)
    return [key_image_json(i) for i in queries.visible_key_images(user).filter(slide=slide)]


@router.post(
    "/slides/{int:slide_id}/key-images",
    response={201: KeyImageOut},
    summary="Render a region (level-0 pixels) as a key image for the report",
)
def create_key_image(
    request: HttpRequest, slide_id: int, body: KeyImageIn
) -> Status[dict[str, Any]]:
    image = services.take_key_image(
        _user(request), slide_id, body.x, body.y, body.width, body.height, body.caption
    )
    return Status(201, key_image_json(image))


@router.get("/key-images/{int:key_image_id}/image.jpeg", summary="A key image's JPEG")
def key_image(request: HttpRequest, key_image_id: int) -> HttpResponse:
    image = queries.get_key_image(_user(request), key_image_id)
    with get_blob_store().open(image.blob.sha256) as stream:
        data = stream.read()  # a key image is at most REGION_SIDE pixels: small
    return _jpeg(request, data, f'"{image.blob.sha256[:32]}"')


def _report_json(conclusion: Any) -> dict[str, Any]:
    parsed = report.parse(conclusion)
    return {
        "gross": parsed.gross,
        "microscopic": parsed.microscopic,
        "diagnosis": parsed.diagnosis,
        "icd10_codes": list(parsed.icd10_codes),
        "recommendations": parsed.recommendations,
        "immunohistochemistry": [vars(s) for s in parsed.immunohistochemistry],
        "key_image_ids": list(parsed.key_image_ids),
        "version": conclusion.version,
        "signed_at": conclusion.signed_at,
        "signed_by": conclusion.signed_by.get_full_name() or conclusion.signed_by.get_username(),
        "sha256": conclusion.text_sha256,
        "pdf_url": f"/pathology/cases/{conclusion.consultation_id}/report.pdf",
    }


@router.post(
    "/consultations/{int:consultation_id}/report",
    response={201: ReportOut},
    summary="Sign the pathology report (the case's conclude step)",
)
def sign_report(
    request: HttpRequest, consultation_id: int, body: ReportIn
) -> Status[dict[str, Any]]:
    draft = report.PathologyReport(
        gross=body.gross,
        microscopic=body.microscopic,
        diagnosis=body.diagnosis,
        icd10_codes=tuple(body.icd10_codes),
        recommendations=body.recommendations,
        immunohistochemistry=tuple(
            report.Stain(s.marker, s.result, s.note) for s in body.immunohistochemistry
        ),
        key_image_ids=tuple(body.key_image_ids),
    )
    return Status(201, _report_json(report.sign(_user(request), consultation_id, draft)))


@router.get(
    "/consultations/{int:consultation_id}/report",
    response=ReportOut,
    summary="The latest signed pathology report",
)
def get_report(request: HttpRequest, consultation_id: int) -> dict[str, Any]:
    from telemed.consultations import queries as consultation_queries

    consultation = consultation_queries.get(_user(request), consultation_id)
    conclusion = consultation.conclusions.select_related("signed_by").order_by("-version").first()
    if conclusion is None:
        raise NotFound(gettext("This consultation has no signed report"))
    return _report_json(conclusion)
