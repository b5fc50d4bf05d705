"""The blob store contract, shared by every backend.

A blob is addressed by the SHA-256 of its content. Whatever the backend:

* ``put`` reads the stream in ``CHUNK_SIZE`` pieces, hashing as it writes to a temporary
  file, and only then moves the content to its address; a failed put (digest mismatch, too
  large, I/O error) leaves nothing behind. Identical content is stored once.
* ``open`` returns a stream that re-hashes what it hands out and raises ``CorruptBlob`` at
  EOF when the content does not match its address. The check happens only when the whole
  blob is read to the end; a consumer that stops early has verified nothing.
* ``iter_chunks`` serves byte ranges. A range cannot be checked against a whole-file hash,
  so ranges are *not* verified: full-read verification happens on ``open`` (read to EOF),
  ``verify`` and ``check`` (``telemed storage verify`` runs the latter over every blob).
"""

from __future__ import annotations

import enum
import hashlib
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from telemed.storage.errors import BlobNotFound, BlobTooLarge, CorruptBlob, DigestMismatch
from telemed.storage.keys import validate_key

# Big enough that per-chunk overhead is negligible, small enough that memory stays flat.
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


class BlobStatus(enum.Enum):
    OK = "ok"
    REPAIRED = "repaired"  # a bad or missing copy was rewritten from a good one
    MISSING = "missing"
    CORRUPT = "corrupt"

    @property
    def ok(self) -> bool:
        return self in (BlobStatus.OK, BlobStatus.REPAIRED)


class Readable(Protocol):
    """What ``put`` accepts: any binary stream (files, uploads, sockets' file objects)."""

    def read(self, size: int = ..., /) -> bytes: ...


class _Source(Readable, Protocol):
    def close(self) -> None: ...


def copy_hashing(
    source: Readable, target: BinaryIO | None = None, *, max_bytes: int | None = None
) -> tuple[str, int]:
    """Copy ``source`` to ``target`` chunk by chunk; return (sha256 hex, size).

    With ``max_bytes`` the copy stops with ``BlobTooLarge`` as soon as one byte too many has
    been read, so an oversized upload costs at most ``max_bytes + CHUNK_SIZE`` of disk.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not chunk:
            break
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(
                f"the content is larger than the limit of {max_bytes} bytes",
                details={"max_bytes": max_bytes},
            )
        digest.update(chunk)
        if target is not None:
            target.write(chunk)
    return digest.hexdigest(), size


def check_expected(expected_sha256: str | None, actual: str) -> None:
    if expected_sha256 is not None and expected_sha256 != actual:
        raise DigestMismatch(
            "the content does not match the announced SHA-256",
            details={"expected": expected_sha256, "actual": actual},
        )


def check_range(start: int | None, end: int | None) -> tuple[int, int | None]:
    """Normalise a half-open range ``[start, end)``; ``None`` means the blob's edge."""
    first = 0 if start is None else start
    if first < 0 or (end is not None and end < first):
        raise ValueError(f"invalid byte range [{start}, {end})")
    return first, end


class _VerifyingRaw(io.RawIOBase):
    """Hashes every byte it passes on and compares with the key when the source is done."""

    def __init__(
        self,
        source: _Source,
        sha256: str,
        *,
        where: str = "",
        on_corrupt: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._source = source
        self._sha256 = sha256
        self._where = where
        self._on_corrupt = on_corrupt
        self._digest = hashlib.sha256()
        self._failure: CorruptBlob | None = None
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._failure is not None:
            # Sticky: a consumer that retries must not mistake a second EOF for success.
            raise self._failure
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        chunk = self._source.read(len(view))
        if chunk:
            view[: len(chunk)] = chunk
            self._digest.update(chunk)
            return len(chunk)
        self._done = True
        actual = self._digest.hexdigest()
        if actual != self._sha256:
            self._failure = CorruptBlob(self._sha256, actual, where=self._where)
            if self._on_corrupt is not None:
                self._on_corrupt()
            raise self._failure
        return 0

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def verifying_reader(
    source: _Source,
    sha256: str,
    *,
    where: str = "",
    on_corrupt: Callable[[], None] | None = None,
) -> BinaryIO:
    """Wrap a raw byte source in a buffered stream that raises ``CorruptBlob`` at EOF."""
    raw = _VerifyingRaw(source, sha256, where=where, on_corrupt=on_corrupt)
    return io.BufferedReader(raw, buffer_size=CHUNK_SIZE)


class BlobStore(ABC):
    """Content-addressed storage of immutable blobs; see the module docstring."""

    @abstractmethod
    def put(
        self,
        stream: Readable,
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobRef:
        """Store the stream's content; raises ``DigestMismatch`` / ``BlobTooLarge``."""

    def put_many(
        self, streams: Sequence[Readable], *, max_bytes: int | None = None
    ) -> list[BlobRef]:
        """Store several streams, in order; when it returns, every one is stored as ``put``
        would have stored it. Backends may share work between them (the local one syncs
        each directory once); this one puts them one after the other."""
        return [self.put(stream, max_bytes=max_bytes) for stream in streams]

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A verifying stream over the blob; ``BlobNotFound`` if there is none."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def size(self, sha256: str) -> int:
        """The blob's size in bytes; ``BlobNotFound`` if there is none."""

    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Remove every copy (admin and garbage collection only); True if one existed.

        Blobs are shared by every record with the same content: delete only after making
        sure no ``Blob`` row refers to it any more.
        """

    @abstractmethod
    def iter_chunks(
        self, sha256: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` (clamped to the blob) in chunks, unverified."""

    def check(self, sha256: str) -> BlobStatus:
        """Read the whole blob and report its health (backends may also repair)."""
        validate_key(sha256)
        try:
            with self.open(sha256) as stream:
                while stream.read(CHUNK_SIZE):
                    pass
        except BlobNotFound:
            return BlobStatus.MISSING
        except CorruptBlob:
            return BlobStatus.CORRUPT
        return BlobStatus.OK

    def verify(self, sha256: str) -> bool:
        """True when a full read of the blob matches its address (after any repair)."""
        return self.check(sha256).ok
