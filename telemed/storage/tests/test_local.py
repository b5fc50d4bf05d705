"""The filesystem backend: atomic writes, mirrors and their repair, bounded memory."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import BinaryIO

import pytest

from telemed.storage.base import BlobStatus
from telemed.storage.errors import BlobNotFound, BlobTooLarge, CorruptBlob, DigestMismatch
from telemed.storage.local import LocalBackend
from telemed.storage.tests.streams import GeneratedStream

DATA = b"pathology slide tile " * 5000
SHA = hashlib.sha256(DATA).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _damage(path: Path) -> None:
    path.chmod(0o640)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def test_layout_and_read_only_objects(local_store: LocalBackend) -> None:
    local_store.put(io.BytesIO(DATA))
    path = local_store.root / "objects" / SHA[:2] / SHA[2:4] / SHA
    assert _files(local_store.root) == [path]
    assert path.stat().st_mode & 0o777 == 0o440


def test_failed_puts_leave_no_files(local_store: LocalBackend) -> None:
    with pytest.raises(DigestMismatch):
        local_store.put(io.BytesIO(DATA), expected_sha256="1" * 64)
    with pytest.raises(BlobTooLarge):
        local_store.put(io.BytesIO(DATA), max_bytes=10)

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
            raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        local_store.put(Broken())
    assert _files(local_store.root) == []


def test_put_writes_every_mirror(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    for root in mirrored_store.roots:
        assert mirrored_store.path(root, SHA).read_bytes() == DATA
        assert list((root / "tmp").iterdir()) == []


def test_put_fills_a_mirror_that_lacks_the_copy(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    mirror_copy = mirrored_store.path(mirrored_store.mirrors[1], SHA)
    mirror_copy.unlink()
    mirrored_store.put(io.BytesIO(DATA))
    assert mirror_copy.read_bytes() == DATA


def test_put_heals_a_damaged_primary(local_store: LocalBackend) -> None:
    local_store.put(io.BytesIO(DATA))
    _damage(local_store.path(local_store.root, SHA))
    local_store.put(io.BytesIO(DATA))
    assert local_store.verify(SHA)


def test_missing_primary_is_restored_from_a_mirror_on_open(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    primary = mirrored_store.path(mirrored_store.root, SHA)
    primary.unlink()
    # The first mirror is bad too: the store must skip it and use the good second one.
    _damage(mirrored_store.path(mirrored_store.mirrors[0], SHA))
    with mirrored_store.open(SHA) as stream:
        assert stream.read() == DATA
    assert primary.read_bytes() == DATA


def test_missing_primary_is_restored_on_range_read(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    primary = mirrored_store.path(mirrored_store.root, SHA)
    primary.unlink()
    assert mirrored_store.size(SHA) == len(DATA)
    assert mirrored_store.exists(SHA)
    assert b"".join(mirrored_store.iter_chunks(SHA, 10, 30)) == DATA[10:30]
    assert primary.read_bytes() == DATA


def test_corrupt_primary_raises_then_is_repaired(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    _damage(mirrored_store.path(mirrored_store.root, SHA))
    # The bytes already handed out were wrong, so the reader still fails ...
    with mirrored_store.open(SHA) as stream, pytest.raises(CorruptBlob):
        stream.read()
    # ... but the primary was rewritten from a mirror, so the next read is good.
    with mirrored_store.open(SHA) as stream:
        assert stream.read() == DATA


def test_check_rewrites_every_bad_copy(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    _damage(mirrored_store.path(mirrored_store.root, SHA))
    mirrored_store.path(mirrored_store.mirrors[0], SHA).unlink()
    assert mirrored_store.check(SHA) is BlobStatus.REPAIRED
    for root in mirrored_store.roots:
        assert mirrored_store.path(root, SHA).read_bytes() == DATA
    assert mirrored_store.check(SHA) is BlobStatus.OK


def test_no_good_copy_anywhere(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    for root in mirrored_store.roots:
        _damage(mirrored_store.path(root, SHA))
    assert mirrored_store.check(SHA) is BlobStatus.CORRUPT
    for root in mirrored_store.roots:
        mirrored_store.path(root, SHA).unlink()
    assert mirrored_store.check(SHA) is BlobStatus.MISSING
    with pytest.raises(BlobNotFound):
        mirrored_store.open(SHA)


def test_delete_removes_every_copy(mirrored_store: LocalBackend) -> None:
    mirrored_store.put(io.BytesIO(DATA))
    assert mirrored_store.delete(SHA)
    assert not any(mirrored_store.path(root, SHA).exists() for root in mirrored_store.roots)


def test_root_and_mirror_must_differ(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalBackend(tmp_path / "a", [tmp_path / "b", tmp_path / "a"])


def _drain(stream: BinaryIO) -> int:
    total = 0
    while chunk := stream.read(256 * 1024):
        total += len(chunk)
    return total


def test_fifty_mebibytes_stream_in_bounded_memory(local_store: LocalBackend) -> None:
    size = 50 * 1024 * 1024
    source = GeneratedStream(size, seed=7)
    expected_sha, _ = source.expected()
    limit = 8 * 1024 * 1024  # far below the 50 MiB that passes through

    tracemalloc.start()
    try:
        ref = local_store.put(source, expected_sha256=expected_sha)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with local_store.open(ref.sha256) as stream:
            assert _drain(stream) == size
        _, read_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        ranged = sum(len(c) for c in local_store.iter_chunks(ref.sha256, 1, size - 1))
        _, range_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.size == size
    assert ranged == size - 2
    assert put_peak < limit, put_peak
    assert read_peak < limit, read_peak
    assert range_peak < limit, range_peak
