"""Writes to the blob store: every stored content gets a ``Blob`` row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from telemed.core import clock
from telemed.core.errors import ValidationFailed
from telemed.storage.base import BlobStatus, BlobStore, Readable
from telemed.storage.blobstore import get_blob_store
from telemed.storage.models import Blob

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def store(
    stream: Readable,
    *,
    content_type: str,
    name: str = "",
    expected_sha256: str | None = None,
    max_bytes: int | None = None,
) -> Blob:
    """Stream ``stream`` into the blob store and return its (possibly existing) ``Blob``.

    The content goes to the store before the row is written: if the surrounding transaction
    rolls back, an unreferenced object is left, which is harmless and collectable, whereas
    the reverse order could leave a row pointing at nothing. ``name`` is kept for display
    only and never becomes part of a path.
    """
    content_type, name = _cleaned(content_type, name)
    ref = get_blob_store().put(stream, expected_sha256=expected_sha256, max_bytes=max_bytes)
    blob, _ = Blob.objects.get_or_create(
        sha256=ref.sha256,
        defaults={
            "size": ref.size,
            "content_type": content_type,
            "original_name": name,
            "created_at": clock.now(),
        },
    )
    return blob


@dataclass(frozen=True)
class Upload:
    """One content for ``store_many``: the stream and what its ``Blob`` row records."""

    stream: Readable
    content_type: str
    name: str = ""


def store_many(uploads: Sequence[Upload], *, max_bytes: int | None = None) -> list[Blob]:
    """``store`` for several contents at once, in order: one backend call (the local store
    syncs them together, see ``LocalBackend.put_many``), one query for the rows that exist
    and one insert for those that do not. Same order and guarantees as ``store``: every
    content is in the store before any row is written; identical contents share one row.

    A row inserted by a concurrent request between the query and the insert is kept (the
    insert skips it). The ``Blob`` returned for it then carries this upload's name and type
    where the row keeps the other's (``store`` would return the row's); its key and size,
    what a referring row uses, are the same.
    """
    cleaned = [_cleaned(upload.content_type, upload.name) for upload in uploads]
    refs = get_blob_store().put_many([u.stream for u in uploads], max_bytes=max_bytes)
    found = Blob.objects.in_bulk({ref.sha256 for ref in refs})
    new: dict[str, Blob] = {}
    moment = clock.now()
    for ref, (content_type, name) in zip(refs, cleaned, strict=True):
        if ref.sha256 not in found and ref.sha256 not in new:
            new[ref.sha256] = Blob(
                sha256=ref.sha256,
                size=ref.size,
                content_type=content_type,
                original_name=name,
                created_at=moment,
            )
    if new:
        # In key order: two requests inserting the same contents take the rows' locks in the
        # same order, so neither waits on the other in a cycle.
        Blob.objects.bulk_create(
            sorted(new.values(), key=lambda b: b.sha256), ignore_conflicts=True
        )
    return [found.get(ref.sha256) or new[ref.sha256] for ref in refs]


def _cleaned(content_type: str, name: str) -> tuple[str, str]:
    content_type = content_type.strip() or DEFAULT_CONTENT_TYPE
    if len(content_type) > 255 or not content_type.isprintable():
        raise ValidationFailed("the content type is not a valid media type")
    # NUL cannot be stored in a PostgreSQL text column; the name is informational anyway.
    return content_type, name.replace("\x00", "")[:255]


def verify_blobs(store: BlobStore | None = None) -> Iterator[tuple[str, BlobStatus]]:
    """Read back every recorded blob in full; yield (sha256, status), repairing where the
    backend can (local mirrors)."""
    backend = store or get_blob_store()
    keys = Blob.objects.order_by("pk").values_list("sha256", flat=True)
    for sha256 in keys.iterator(chunk_size=2000):
        yield sha256, backend.check(sha256)
