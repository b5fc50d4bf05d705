"""A case's attachments: records, results and images the people on the case add.

``add`` streams the content into the blob store (never the whole file in memory), checks
the declared size against ``ATTACHMENT_MAX_BYTES`` before reading a byte, and checks the
type twice: the declared media type must be one we take, and the first bytes must say the
same (a PDF starts ``%PDF-``, a DICOM file has ``DICM`` after its preamble, ...). The row,
the history entry and the audit event are written in one transaction after the content is
stored; if that transaction fails, the blob is left unreferenced, which is harmless.

Uploads here are single requests. Resumable uploads (tus) are for the imaging studies and
whole-slide images of the imaging and pathology issues, not for a case's documents.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from telemed.accounts.models import Role
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Attachment, Consultation
from telemed.consultations.states import TERMINAL
from telemed.consultations.workflow import access, record_on_case
from telemed.core import clock
from telemed.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from telemed.storage import services as storage
from telemed.storage.base import Readable
from telemed.storage.errors import BlobTooLarge

if TYPE_CHECKING:
    from telemed.accounts.models import User

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
# How much of the start of a file the type check looks at (ZIP entry names of an Office
# document, enough text to tell it from binary).
SNIFF_BYTES = 64 * 1024
NAME_MAX = 200
REQUESTING_ROLES = frozenset({Role.REQUESTING_DOCTOR, Role.SYSTEM})


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


@dataclass(frozen=True)
class FileType:
    media_type: str
    family: str  # what the first bytes must look like
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", "pdf", (".pdf",))
JPEG = FileType("image/jpeg", "jpeg", (".jpg", ".jpeg"))
PNG = FileType("image/png", "png", (".png",))
TIFF = FileType("image/tiff", "tiff", (".tif", ".tiff"))
DICOM = FileType("application/dicom", "dicom", (".dcm", ".dicom"))
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "ooxml", (".docx",)
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml", (".xlsx",)
)
TEXT = FileType("text/plain", "text", (".txt",))
TYPES = (PDF, JPEG, PNG, TIFF, DICOM, DOCX, XLSX, TEXT)
BY_MEDIA_TYPE = {t.media_type: t for t in TYPES} | {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "application/x-pdf": PDF,
}
# What browsers and tools send when they do not know (a .dcm file in most browsers).
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
ACCEPT = ",".join(sorted({t.media_type for t in TYPES} | {e for t in TYPES for e in t.extensions}))
_OOXML_MARKERS = (b"[Content_Types].xml", b"_rels/.rels")
# Control characters that do not occur in a plain-text document.
_BINARY_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}


def max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def normalise_media_type(declared: str) -> str:
    return declared.split(";", 1)[0].strip().lower()


def acceptable_declared_type(declared: str) -> bool:
    """Whether a declared type could be one we take (checked before reading the body)."""
    media_type = normalise_media_type(declared)
    return media_type in BY_MEDIA_TYPE or media_type in GENERIC_TYPES


def sniff(head: bytes) -> str | None:
    """The family the first bytes belong to, or None when they are none we take."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"PK\x03\x04"):
        return "ooxml" if any(marker in head for marker in _OOXML_MARKERS) else None
    if _looks_like_text(head):
        return "text"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or any(byte in _BINARY_BYTES for byte in head):
        return False
    # UTF-8 (with or without BOM) or GB18030, the encodings Chinese hospital systems write;
    # the window may end inside a character, so decode incrementally without finishing.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def resolve_type(declared: str, name: str, head: bytes) -> FileType:
    """The file's type: the declared one when the content agrees, or the content's own
    when nothing specific was declared. UnsupportedMediaType otherwise."""
    media_type = normalise_media_type(declared)
    family = sniff(head)
    if family is None:
        raise UnsupportedMediaType(
            gettext(
                "This kind of file cannot be attached: PDF, JPEG, PNG, TIFF, DICOM, "
                "Word (.docx), Excel (.xlsx) and plain text can."
            ),
            details={"declared": media_type},
        )
    if media_type in BY_MEDIA_TYPE:
        declared_type = BY_MEDIA_TYPE[media_type]
        if declared_type.family != family:
            raise UnsupportedMediaType(
                gettext("The file's content is not what its type says (%(type)s).")
                % {"type": media_type},
                details={"declared": media_type, "content": family},
            )
        return declared_type
    if media_type not in GENERIC_TYPES:
        raise UnsupportedMediaType(
            gettext("Files of type %(type)s cannot be attached.") % {"type": media_type},
            details={"declared": media_type},
        )
    if family == "ooxml":
        lowered = name.lower()
        if lowered.endswith(".docx") or b"word/" in head:
            return DOCX
        if lowered.endswith(".xlsx") or b"xl/" in head:
            return XLSX
        raise UnsupportedMediaType(
            gettext("Only Word (.docx) and Excel (.xlsx) documents can be attached."),
            details={"declared": media_type},
        )
    return next(t for t in TYPES if t.family == family)


def clean_name(name: str) -> str:
    """A display name: no directories, no control characters, at most NAME_MAX characters.
    It is only ever shown and sent back in Content-Disposition; no path is built from it."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    if len(base) > NAME_MAX:
        stem, dot, extension = base.rpartition(".")
        if dot and len(extension) <= 10:
            base = stem[: NAME_MAX - len(extension) - 1] + "." + extension
        else:
            base = base[:NAME_MAX]
    return base or gettext("attachment")


def may_attach(actor: User, consultation: Consultation) -> bool:
    """The requesting side while the case is not over, and the assigned expert."""
    if consultation.assigned_expert_id is not None and consultation.assigned_expert_id == actor.pk:
        return consultation.state not in TERMINAL
    return (
        actor.role in REQUESTING_ROLES
        and actor.institution_id == consultation.requesting_institution_id
        and consultation.state not in TERMINAL
    )


def _on_the_case(actor: User, consultation: Consultation) -> bool:
    return consultation.assigned_expert_id == actor.pk or (
        actor.role in REQUESTING_ROLES
        and actor.institution_id == consultation.requesting_institution_id
    )


def _check_may_attach(actor: User, consultation: Consultation) -> None:
    if may_attach(actor, consultation):
        return
    if _on_the_case(actor, consultation):
        raise Conflict(
            gettext("Consultation %(number)s is “%(state)s”: nothing more can be attached.")
            % {"number": consultation.number, "state": consultation.get_state_display()},
            details={"state": consultation.state},
        )
    audit.denied(
        actor,
        Action.CREATE,
        object_type="consultation_attachment",
        object_id=consultation.pk,
        reason="not the requesting side or the assigned expert",
    )
    raise PermissionDenied(
        gettext("Only the requesting side and the assigned expert add attachments.")
    )


class _Prefixed:
    """The bytes already read for the type check, then the rest of the stream."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                chunk, self._head = bytes(self._head), memoryview(b"")
                return chunk
            chunk, self._head = bytes(self._head[:size]), self._head[size:]
            return chunk
        return self._rest.read(size)


def _read_head(stream: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def add(
    actor: User,
    consultation_id: int,
    stream: Readable,
    name: str,
    content_type: str,
    declared_size: int | None = None,
) -> Attachment:
    """Stream a file onto the case. 404 outside the actor's scope, 403 for someone not on
    the case, 409 on a case that is over, 413 over the limit (before reading anything when
    the size is declared), 415 for a type we do not take or content that contradicts its
    declared type."""
    consultation = access(actor, consultation_id)
    _check_may_attach(actor, consultation)
    limit = max_bytes()
    if declared_size is not None and declared_size > limit:
        raise BlobTooLarge(
            gettext("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
            details={"max_bytes": limit},
        )
    if not acceptable_declared_type(content_type):
        raise UnsupportedMediaType(
            gettext("Files of type %(type)s cannot be attached.")
            % {"type": normalise_media_type(content_type)},
            details={"declared": normalise_media_type(content_type)},
        )
    display_name = clean_name(name)
    head = _read_head(stream, SNIFF_BYTES)
    if not head:
        raise ValidationFailed(
            gettext("The file is empty."), details={"fields": {"file": gettext("is empty")}}
        )
    file_type = resolve_type(content_type, display_name, head)
    blob = storage.store(
        _Prefixed(head, stream),
        content_type=file_type.media_type,
        name=display_name,
        max_bytes=limit,
    )
    if declared_size is not None and blob.size != declared_size:
        raise ValidationFailed(
            gettext("The upload was incomplete: %(got)s of %(declared)s bytes arrived.")
            % {"got": blob.size, "declared": declared_size},
        )
    with transaction.atomic():
        locked = (
            Consultation.objects.unscoped("row lock on a case just read in scope")
            .select_for_update()
            .get(pk=consultation.pk)
        )
        # The case may have been withdrawn or reassigned while the file was arriving.
        _check_may_attach(actor, locked)
        attachment = Attachment.objects.create(
            consultation=locked,
            blob=blob,
            name=display_name,
            content_type=file_type.media_type,
            size=blob.size,
            uploaded_by=actor,
            uploaded_at=clock.now(),
        )
        record_on_case(
            actor,
            locked,
            "attach",
            audit_action=Action.CREATE,
            object_type="consultation_attachment",
            object_id=attachment.pk,
            at=attachment.uploaded_at,
            detail={
                "attachment": attachment.pk,
                "name": display_name,
                "content_type": file_type.media_type,
                "size": blob.size,
                "sha256": blob.sha256,
            },
            audit_detail={
                "sha256": blob.sha256,
                "size": blob.size,
                "content_type": file_type.media_type,
            },
        )
    return attachment


def listed(actor: User, consultation_id: int) -> list[Attachment]:
    """The case's attachments, oldest first (the read of the case is audited)."""
    from telemed.consultations import queries

    consultation = queries.get(actor, consultation_id)
    return list(consultation.attachments.select_related("uploaded_by", "blob"))


def for_download(
    actor: User, consultation_id: int, attachment_id: int, *, byte_range: str = ""
) -> Attachment:
    """One attachment of a case in the actor's scope, its export audited; NotFound when
    the case is out of scope or has no such attachment."""
    consultation = access(actor, consultation_id)
    attachment = consultation.attachments.select_related("blob").filter(pk=attachment_id).first()
    if attachment is None:
        audit.denied(
            actor,
            Action.EXPORT,
            object_type="consultation_attachment",
            object_id=attachment_id,
            reason="no such attachment on the case",
        )
        raise NotFound(gettext("Attachment not found"))
    detail: dict[str, object] = {"consultation": consultation.number, "sha256": attachment.blob_id}
    if byte_range:
        detail["range"] = byte_range[:100]
    audit.record(
        actor,
        Action.EXPORT,
        object_type="consultation_attachment",
        object_id=attachment.pk,
        patient_id=consultation.patient_id,
        detail=detail,
    )
    return attachment
