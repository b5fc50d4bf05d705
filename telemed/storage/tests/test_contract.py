"""The contract every backend keeps: run over local, local with mirrors, and S3 (moto)."""

from __future__ import annotations

import hashlib
import io

import pytest

from telemed.storage.base import CHUNK_SIZE, BlobRef, BlobStatus, BlobStore
from telemed.storage.errors import BlobNotFound, BlobTooLarge, CorruptBlob, DigestMismatch
from telemed.storage.tests.conftest import overwrite

DATA = b"ECG lead II, 500 Hz\n" * 1000
SHA = hashlib.sha256(DATA).hexdigest()
MISSING = "0" * 64


def test_round_trip(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(DATA))
    assert ref == BlobRef(SHA, len(DATA))
    assert store.exists(SHA)
    assert store.size(SHA) == len(DATA)
    with store.open(SHA) as stream:
        assert stream.read() == DATA
    assert store.verify(SHA)
    assert store.check(SHA) is BlobStatus.OK


def test_empty_blob(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(b""))
    assert ref == BlobRef(hashlib.sha256(b"").hexdigest(), 0)
    with store.open(ref.sha256) as stream:
        assert stream.read() == b""
    assert b"".join(store.iter_chunks(ref.sha256)) == b""
    assert b"".join(store.iter_chunks(ref.sha256, 0, 10)) == b""


def test_content_spanning_several_chunks(store: BlobStore) -> None:
    data = bytes(range(256)) * (CHUNK_SIZE * 2 // 256) + b"tail"
    ref = store.put(io.BytesIO(data))
    with store.open(ref.sha256) as stream:
        pieces = []
        while piece := stream.read(100_000):
            pieces.append(piece)
    assert b"".join(pieces) == data
    assert b"".join(store.iter_chunks(ref.sha256)) == data


def test_identical_content_is_stored_once(store: BlobStore) -> None:
    first = store.put(io.BytesIO(DATA))
    second = store.put(io.BytesIO(DATA), expected_sha256=SHA)
    assert first == second
    assert store.delete(SHA) is True
    assert not store.exists(SHA)
    assert store.delete(SHA) is False


def test_expected_digest_mismatch_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(DigestMismatch) as info:
        store.put(io.BytesIO(DATA), expected_sha256=MISSING)
    assert info.value.details == {"expected": MISSING, "actual": SHA}
    assert not store.exists(SHA)
    assert not store.exists(MISSING)


def test_max_bytes(store: BlobStore) -> None:
    with pytest.raises(BlobTooLarge):
        store.put(io.BytesIO(DATA), max_bytes=len(DATA) - 1)
    assert not store.exists(SHA)
    assert store.put(io.BytesIO(DATA), max_bytes=len(DATA)).sha256 == SHA


def test_missing_blob(store: BlobStore) -> None:
    assert not store.exists(MISSING)
    with pytest.raises(BlobNotFound):
        store.open(MISSING)
    with pytest.raises(BlobNotFound):
        store.size(MISSING)
    with pytest.raises(BlobNotFound):
        store.iter_chunks(MISSING, 0, 10)
    with pytest.raises(BlobNotFound):
        store.iter_chunks(MISSING, 5, 5)
    assert store.check(MISSING) is BlobStatus.MISSING
    assert store.verify(MISSING) is False


def test_corruption_is_caught_on_full_read(store: BlobStore) -> None:
    store.put(io.BytesIO(DATA))
    damaged = bytearray(DATA)
    damaged[1234] ^= 0x01
    overwrite(store, SHA, bytes(damaged))
    with store.open(SHA) as stream, pytest.raises(CorruptBlob) as info:
        stream.read()
    assert info.value.sha256 == SHA
    assert info.value.actual == hashlib.sha256(damaged).hexdigest()
    assert store.verify(SHA) is False
    assert store.check(SHA) is BlobStatus.CORRUPT


def test_corruption_error_is_sticky(store: BlobStore) -> None:
    store.put(io.BytesIO(DATA))
    overwrite(store, SHA, DATA[:-1])
    stream = store.open(SHA)
    with pytest.raises(CorruptBlob):
        while stream.read(4096):
            pass
    # A consumer that retries must not mistake the next empty read for a clean EOF.
    with pytest.raises(CorruptBlob):
        stream.read(4096)
    stream.close()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (0, None),
        (None, 10),
        (0, 1),
        (100, 200),
        (len(DATA) - 5, None),
        (len(DATA) - 5, len(DATA) + 100),
        (7, 7),
        (len(DATA), None),
        (len(DATA) + 10, len(DATA) + 20),
    ],
)
def test_ranges(store: BlobStore, start: int | None, end: int | None) -> None:
    store.put(io.BytesIO(DATA))
    expected = DATA[(start or 0) : end]
    assert b"".join(store.iter_chunks(SHA, start, end)) == expected


def test_invalid_ranges(store: BlobStore) -> None:
    store.put(io.BytesIO(DATA))
    with pytest.raises(ValueError):
        store.iter_chunks(SHA, -1, 10)
    with pytest.raises(ValueError):
        store.iter_chunks(SHA, 10, 5)


def test_ranges_are_not_verified(store: BlobStore) -> None:
    # Documented limit: a range cannot be checked against the whole-file hash.
    store.put(io.BytesIO(DATA))
    damaged = b"X" + DATA[1:]
    overwrite(store, SHA, damaged)
    assert b"".join(store.iter_chunks(SHA, 0, 4)) == b"XCG "
