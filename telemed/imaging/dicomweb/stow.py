"""STOW-RS: store the instances of a multipart/related body through the ingest service, one
by one, and answer which were stored and which failed, with the DIMSE reason (PS3.18 10.5).

An instance of a non-image SOP class that another app registered with the DICOM border
(ECG waveforms) goes to that app's handler, as a C-STORE would; the handler finds the
caller in the association's ``state["user"]``.

200: all stored; 202: some failed; 409: none stored; 400/415: the body itself is wrong.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pydicom
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from pydicom.dataset import Dataset

from telemed.accounts.models import User
from telemed.accounts.scoping import INSTITUTION_ROLES
from telemed.dicom import registry
from telemed.dicom.files import (
    DOES_NOT_MATCH_SOP_CLASS,
    SOP_CLASS_NOT_SUPPORTED,
    inspect,
    is_valid_uid,
)
from telemed.dicom.registry import Refused
from telemed.imaging import services
from telemed.imaging.dicomweb.common import DICOM, DICOM_JSON, DicomwebError
from telemed.imaging.dicomweb.multipart import boundary_of, parts
from telemed.imaging.sop_classes import IMAGE_STORAGE


def max_upload_bytes() -> int:
    """The largest STOW-RS body accepted (``DICOMWEB_MAX_UPLOAD_BYTES``, default 4 GiB)."""
    return int(getattr(settings, "DICOMWEB_MAX_UPLOAD_BYTES", 4 * 1024**3))


def _spool_dir() -> Path:
    directory = Path(settings.STORAGE_ROOT) / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def store(request: HttpRequest, user: User, study: str = "") -> HttpResponse:
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.split(";")[0].strip().lower() != "multipart/related":
        raise DicomwebError(
            415, _("Send multipart/related with application/dicom parts."), code="unsupported"
        )
    if user.role not in INSTITUTION_ROLES or user.institution is None:
        raise DicomwebError(
            403, _("Only an institution's own staff and systems store studies."), code="forbidden"
        )
    sender = services.Sender(
        institution=user.institution, user=user, batch=f"stow:{uuid.uuid4().hex[:16]}"
    )
    association = registry.Association(
        key=sender.batch,
        calling_ae_title="",
        address=str(request.META.get("REMOTE_ADDR", "")),
        institution=user.institution,
        state={"user": user},
    )
    stored: list[Dataset] = []
    failed: list[Dataset] = []
    base = request.build_absolute_uri("/dicomweb")
    with parts(request, boundary_of(content_type), _spool_dir()) as body:
        for part in body:
            if _routed(part.path, part.content_type, study, association, stored, failed):
                continue
            _store_part(part.path, part.content_type, study, sender, base, stored, failed)
    services.close_batch(sender)
    if not stored and not failed:
        raise DicomwebError(400, _("The body holds no instances."), code="bad_request")
    answer = Dataset()
    answer.RetrieveURL = f"{base}/studies/{study}" if study else ""
    if stored:
        answer.ReferencedSOPSequence = stored
    if failed:
        answer.FailedSOPSequence = failed
    status = 200 if not failed else (202 if stored else 409)
    return HttpResponse(json.dumps(answer.to_json_dict()), status=status, content_type=DICOM_JSON)


def _store_part(
    path: Path,
    content_type: str,
    study: str,
    sender: services.Sender,
    base: str,
    stored: list[Dataset],
    failed: list[Dataset],
) -> None:
    item = Dataset()
    try:
        if content_type not in (DICOM, ""):
            raise Refused(SOP_CLASS_NOT_SUPPORTED, _("A part is not application/dicom."))
        result = services.ingest(path, sender, study_instance_uid=study or None)
    except Refused as refusal:
        uids = _uids(path)
        if uids:
            item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = uids
        item.FailureReason = refusal.status
        failed.append(item)
        return
    instance = result.instance
    item.ReferencedSOPClassUID = instance.sop_class_uid
    item.ReferencedSOPInstanceUID = instance.sop_instance_uid
    item.RetrieveURL = (
        f"{base}/studies/{instance.study.study_instance_uid}"
        f"/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}"
    )
    stored.append(item)


def _routed(
    path: Path,
    content_type: str,
    study: str,
    association: registry.Association,
    stored: list[Dataset],
    failed: list[Dataset],
) -> bool:
    """Hand an instance of another app's registered SOP class to that app; False for
    images (and for anything unreadable, which the ingest refuses with its reason)."""
    if content_type not in (DICOM, ""):
        return False
    try:
        peeked = pydicom.dcmread(
            path,
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
        )
        sop_class = str(peeked.get("SOPClassUID", ""))
        sop_instance = str(peeked.get("SOPInstanceUID", ""))
        syntax = str(peeked.file_meta.get("TransferSyntaxUID", ""))
    except Exception:
        return False
    registration = registry.handler_for(sop_class)
    if sop_class in IMAGE_STORAGE or registration is None:
        return False
    item = Dataset()
    if is_valid_uid(sop_class) and is_valid_uid(sop_instance):
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
    try:
        if study and str(peeked.get("StudyInstanceUID", "")) != study:
            raise Refused(
                DOES_NOT_MATCH_SOP_CLASS, _("The instance belongs to another study than the URL's.")
            )
        registration.handler(
            registry.Received(
                path=path,
                sop_class_uid=sop_class,
                sop_instance_uid=sop_instance,
                transfer_syntax_uid=syntax,
                association=association,
            )
        )
    except Refused as refusal:
        item.FailureReason = refusal.status
        failed.append(item)
        return True
    stored.append(item)
    return True


def _uids(path: Path) -> tuple[str, str] | None:
    try:
        inspected = inspect(path)
    except Refused:
        return None
    sop_class, sop_instance = inspected.text("SOPClassUID"), inspected.text("SOPInstanceUID")
    if is_valid_uid(sop_class) and is_valid_uid(sop_instance):
        return sop_class, sop_instance
    return None
