"""Several blobs in one call: ``BlobStore.put_many`` on every backend, the local backend's
syncs (every file before its rename, every directory touched before the call returns),
and ``services.store_many``'s rows and queries."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telemed.core.errors import ValidationFailed
from telemed.storage import local
from telemed.storage.base import BlobRef, BlobStore
from telemed.storage.blobstore import get_blob_store
from telemed.storage.errors import BlobTooLarge
from telemed.storage.local import LocalBackend
from telemed.storage.models import Blob
from telemed.storage.services import Upload, store, store_many

CONTENTS = [b"rec 12 500 5000\n", b"\x01\x02" * 60000, b"\x00" * 240000]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_many_stores_each_in_order(store: BlobStore) -> None:
    contents = [*CONTENTS, CONTENTS[0]]  # the same content twice in one call
    refs = store.put_many([io.BytesIO(data) for data in contents])
    assert refs == [BlobRef(_sha(data), len(data)) for data in contents]
    for data in contents:
        with store.open(_sha(data)) as stream:
            assert stream.read() == data
        assert store.verify(_sha(data))
    assert store.put_many([]) == []


def test_put_many_over_the_limit_stores_none(store: BlobStore) -> None:
    with pytest.raises(BlobTooLarge):
        store.put_many([io.BytesIO(CONTENTS[0]), io.BytesIO(CONTENTS[2])], max_bytes=1000)
    if isinstance(store, LocalBackend):
        for root in store.roots:
            assert _files(root) == []
    else:
        # S3 puts one after the other: the first, within the limit, may stay (harmless,
        # content-addressed); the one over the limit never does.
        assert not store.exists(_sha(CONTENTS[2]))


def test_every_file_is_synced_before_its_rename_and_every_directory_before_the_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(tmp_path / "primary", [tmp_path / "mirror"])
    events: list[tuple[str, Any]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("sync", os.fstat(fd).st_ino))

    def replace(source: Any, target: Any) -> None:
        events.append(("rename", os.stat(source).st_ino))
        real_replace(source, target)

    monkeypatch.setattr(local.os, "fsync", fsync)
    monkeypatch.setattr(local.os, "replace", replace)
    refs = backend.put_many([io.BytesIO(data) for data in CONTENTS])
    synced = {inode for kind, inode in events if kind == "sync"}
    for kind, inode in events:
        if kind == "rename":  # the file's content reached the disk before it was renamed
            before = events[: events.index((kind, inode))]
            assert ("sync", inode) in before
    for root in backend.roots:
        for ref in refs:
            path = backend.path(root, ref.sha256)
            # The object's directory and each directory made for it (new here): their
            # entries are on disk too.
            for directory in (path.parent, path.parent.parent, path.parent.parent.parent):
                assert directory.stat().st_ino in synced, directory


def _put_in_child(root: str, queue: Any) -> None:
    refs = LocalBackend(root).put_many([io.BytesIO(data) for data in CONTENTS])
    queue.put([ref.sha256 for ref in refs])


def test_put_many_works_in_a_process_forked_after_a_first_call(tmp_path: Path) -> None:
    # The syncing threads do not survive fork; a forked worker must not wait for them.
    LocalBackend(tmp_path / "parent").put_many([io.BytesIO(data) for data in CONTENTS])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_put_in_child, args=(str(tmp_path / "child"), queue))
    child.start()
    try:
        assert queue.get(timeout=30) == [_sha(data) for data in CONTENTS]
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0


_TRANSACTION = {"BEGIN", "COMMIT"}


@pytest.fixture
def local_settings(settings: Any, tmp_path: Path) -> Any:
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_ROOT = tmp_path / "blobs"
    settings.STORAGE_MIRRORS = []
    return settings


@pytest.mark.django_db
def test_store_many_records_one_row_per_content_in_two_queries(local_settings: Any) -> None:
    earlier = store(io.BytesIO(CONTENTS[0]), content_type="text/plain", name="first.hea")
    uploads = [
        Upload(io.BytesIO(CONTENTS[0]), "application/octet-stream", "rec.hea"),
        Upload(io.BytesIO(CONTENTS[1]), "application/octet-stream", "rec.dat"),
        Upload(io.BytesIO(CONTENTS[2]), "application/x-telemed-ecg-int32le", "samples"),
        Upload(io.BytesIO(CONTENTS[1]), "", "copy\x00.dat"),
    ]
    with CaptureQueriesContext(connection) as queries:
        blobs = store_many(uploads)
    # One SELECT for the rows that exist, one INSERT for the two that do not (PostgreSQL
    # also logs the BEGIN and COMMIT around the insert).
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in _TRANSACTION]
    assert [sql.split()[0] for sql in statements] == ["SELECT", "INSERT"], statements
    assert [b.sha256 for b in blobs] == [_sha(data) for data in [*CONTENTS, CONTENTS[1]]]
    assert blobs[0].pk == earlier.pk and blobs[0].original_name == "first.hea"
    assert blobs[1] is blobs[3]
    assert Blob.objects.count() == 3
    row = Blob.objects.get(pk=_sha(CONTENTS[2]))
    assert (row.size, row.content_type, row.original_name) == (
        len(CONTENTS[2]),
        "application/x-telemed-ecg-int32le",
        "samples",
    )
    assert all(get_blob_store().verify(b.sha256) for b in blobs)


@pytest.mark.django_db
def test_store_many_refuses_before_writing(local_settings: Any) -> None:
    uploads = [
        Upload(io.BytesIO(CONTENTS[0]), "text/plain", "a"),
        Upload(io.BytesIO(CONTENTS[1]), "text/plain\r\nX-Evil: 1", "b"),
    ]
    with pytest.raises(ValidationFailed):
        store_many(uploads)
    assert Blob.objects.count() == 0
    assert _files(Path(local_settings.STORAGE_ROOT)) == []
