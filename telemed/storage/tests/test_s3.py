"""The S3 backend against moto's HTTP server (see conftest: an emulator, not the service)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from telemed.storage.errors import BlobTooLarge, DigestMismatch
from telemed.storage.s3 import S3Backend
from telemed.storage.tests.conftest import overwrite
from telemed.storage.tests.streams import GeneratedStream

DATA = b"CT slice " * 4096
SHA = hashlib.sha256(DATA).hexdigest()


def _count_uploads(store: S3Backend, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = store.client.upload_file

    def counting(filename: str, bucket: str, key: str, **kwargs: Any) -> Any:
        calls.append(key)
        return real(filename, bucket, key, **kwargs)

    monkeypatch.setattr(store.client, "upload_file", counting)
    return calls


def test_object_name_and_metadata(s3_store: S3Backend) -> None:
    s3_store.put(io.BytesIO(DATA))
    head = s3_store.client.head_object(
        Bucket=s3_store.bucket, Key=f"objects/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    )
    assert head["ContentLength"] == len(DATA)
    assert head["Metadata"] == {"sha256": SHA}


def test_existing_content_is_not_uploaded_again(
    s3_store: S3Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = _count_uploads(s3_store, monkeypatch)
    s3_store.put(io.BytesIO(DATA))
    s3_store.put(io.BytesIO(DATA))
    assert uploads == [s3_store.key(SHA)]


def test_a_truncated_object_is_replaced(
    s3_store: S3Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_store.put(io.BytesIO(DATA))
    overwrite(s3_store, SHA, DATA[:100])
    uploads = _count_uploads(s3_store, monkeypatch)
    s3_store.put(io.BytesIO(DATA))
    assert uploads == [s3_store.key(SHA)]
    assert s3_store.verify(SHA)


def test_spool_is_cleaned_up(s3_store: S3Backend) -> None:
    s3_store.put(io.BytesIO(DATA))
    with pytest.raises(DigestMismatch):
        s3_store.put(io.BytesIO(DATA), expected_sha256="f" * 64)
    with pytest.raises(BlobTooLarge):
        s3_store.put(io.BytesIO(DATA), max_bytes=1)
    assert s3_store.spool_dir is not None
    assert list(Path(s3_store.spool_dir).iterdir()) == []
    listing = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)
    assert [item["Key"] for item in listing["Contents"]] == [s3_store.key(SHA)]


def test_fifty_mebibytes_multipart_in_bounded_memory(s3_store: S3Backend) -> None:
    size = 50 * 1024 * 1024
    source = GeneratedStream(size, seed=11)
    expected_sha, _ = source.expected()
    # 4 concurrent 16 MiB parts are each streamed from the spool file, not held in memory.
    limit = 16 * 1024 * 1024

    tracemalloc.start()
    try:
        ref = s3_store.put(source, expected_sha256=expected_sha)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with s3_store.open(ref.sha256) as stream:
            while chunk := stream.read(256 * 1024):
                total += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert put_peak < limit, put_peak
    assert read_peak < limit, read_peak
    # Parts are 16 MiB: a range across the first part boundary comes back whole.
    boundary = 16 * 1024 * 1024
    ranged = b"".join(s3_store.iter_chunks(ref.sha256, boundary - 10, boundary + 10))
    assert len(ranged) == 20
