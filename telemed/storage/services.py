"""Writes to the blob store: every stored content gets a ``Blob`` row."""

from __future__ import annotations

from collections.abc import Iterator

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
    content_type = content_type.strip() or DEFAULT_CONTENT_TYPE
    if len(content_type) > 255 or not content_type.isprintable():
        raise ValidationFailed("the content type is not a valid media type")
    # NUL cannot be stored in a PostgreSQL text column; the name is informational anyway.
    name = name.replace("\x00", "")[:255]
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


def verify_blobs(store: BlobStore | None = None) -> Iterator[tuple[str, BlobStatus]]:
    """Read back every recorded blob in full; yield (sha256, status), repairing where the
    backend can (local mirrors)."""
    backend = store or get_blob_store()
    keys = Blob.objects.order_by("pk").values_list("sha256", flat=True)
    for sha256 in keys.iterator(chunk_size=2000):
        yield sha256, backend.check(sha256)
