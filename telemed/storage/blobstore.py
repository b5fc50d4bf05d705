"""The blob store other apps use: ``get_blob_store()`` and the contract's public names.

Most apps should call ``telemed.storage.services.store`` (which also records a ``Blob``
row) and ``get_blob_store().open(sha256)`` / ``.iter_chunks(...)`` to read.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from telemed.storage.base import CHUNK_SIZE, BlobRef, BlobStatus, BlobStore, Readable
from telemed.storage.errors import (
    BlobNotFound,
    BlobTooLarge,
    CorruptBlob,
    DigestMismatch,
    InvalidKey,
    StorageError,
)
from telemed.storage.keys import validate_key

__all__ = [
    "CHUNK_SIZE",
    "BlobNotFound",
    "BlobRef",
    "BlobStatus",
    "BlobStore",
    "BlobTooLarge",
    "CorruptBlob",
    "DigestMismatch",
    "InvalidKey",
    "Readable",
    "StorageError",
    "get_blob_store",
    "validate_key",
]


@functools.cache
def get_blob_store() -> BlobStore:
    """The configured store (``settings.STORAGE_BACKEND``), built once per process."""
    if settings.STORAGE_BACKEND == "s3":
        from telemed.storage.s3 import S3Backend, make_client

        client = make_client(
            endpoint_url=settings.S3_ENDPOINT_URL,
            region=settings.S3_REGION,
            access_key=settings.S3_ACCESS_KEY,
            secret_key=settings.S3_SECRET_KEY,
        )
        # Uploads are hashed on local disk before they go up; STORAGE_ROOT is that disk.
        return S3Backend(settings.S3_BUCKET, client=client, spool_dir=settings.STORAGE_ROOT / "tmp")
    from telemed.storage.local import LocalBackend

    return LocalBackend(settings.STORAGE_ROOT, settings.STORAGE_MIRRORS)


@receiver(setting_changed)
def _reset_store(*, setting: str, **kwargs: Any) -> None:
    # Tests (and override_settings) switch backends; the cached store must follow.
    if setting.startswith(("STORAGE_", "S3_")):
        get_blob_store.cache_clear()
