"""Typed errors of the blob store.

Errors a caller can cause (a malformed key, a digest that does not match, an upload that is
too large, a blob that does not exist) are ``DomainError``s, so the API and the pages answer
them with a 4xx. ``CorruptBlob`` is not the caller's fault: stored bytes no longer match their
address, which is an operator's problem and must surface as a server error.
"""

from __future__ import annotations

from telemed.core.errors import DomainError, NotFound, ValidationFailed


class InvalidKey(ValidationFailed):
    code = "invalid_blob_key"


class DigestMismatch(ValidationFailed):
    """The content did not hash to the SHA-256 the caller announced; nothing was stored."""

    code = "digest_mismatch"


class BlobTooLarge(DomainError):
    status = 413
    code = "too_large"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class StorageError(Exception):
    """A fault of the store itself (not of the caller)."""


class CorruptBlob(StorageError):
    """The bytes read do not hash to the blob's address."""

    def __init__(self, sha256: str, actual: str, *, where: str = "") -> None:
        place = f" in {where}" if where else ""
        super().__init__(f"blob {sha256}{place} is corrupt: its content hashes to {actual}")
        self.sha256 = sha256
        self.actual = actual
        self.where = where
