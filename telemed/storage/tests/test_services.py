"""store(), the Blob rows, the factory and ``telemed storage verify``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telemed.core import clock
from telemed.core.errors import ValidationFailed
from telemed.storage.blobstore import get_blob_store
from telemed.storage.errors import DigestMismatch
from telemed.storage.local import LocalBackend
from telemed.storage.models import Blob
from telemed.storage.s3 import S3Backend
from telemed.storage.services import store
from telemed.storage.tests.conftest import ACCESS_KEY, SECRET_KEY

DATA = b"%PDF-1.7 consultation report\n" * 100
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def local_settings(settings: Any, tmp_path: Path) -> Any:
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_ROOT = tmp_path / "blobs"
    settings.STORAGE_MIRRORS = [tmp_path / "mirror"]
    return settings


@pytest.mark.django_db
def test_store_records_a_blob(local_settings: Any) -> None:
    moment = dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)
    with clock.frozen_at(moment):
        blob = store(io.BytesIO(DATA), content_type="application/pdf", name="report.pdf")
    assert (blob.sha256, blob.size, blob.content_type) == (SHA, len(DATA), "application/pdf")
    assert blob.original_name == "report.pdf"
    assert blob.created_at == moment
    assert get_blob_store().verify(SHA)


@pytest.mark.django_db
def test_identical_content_is_one_row(local_settings: Any) -> None:
    first = store(io.BytesIO(DATA), content_type="application/pdf", name="a.pdf")
    second = store(io.BytesIO(DATA), content_type="text/plain", name="b.txt")
    assert first.pk == second.pk
    assert Blob.objects.count() == 1
    # The first upload's metadata stands; per-use names belong on the referring record.
    assert second.original_name == "a.pdf"


@pytest.mark.django_db
def test_store_refuses_before_writing(local_settings: Any) -> None:
    with pytest.raises(DigestMismatch):
        store(io.BytesIO(DATA), content_type="application/pdf", expected_sha256="0" * 64)
    with pytest.raises(ValidationFailed):
        store(io.BytesIO(DATA), content_type="text/plain\r\nX-Evil: 1")
    assert Blob.objects.count() == 0
    assert not get_blob_store().exists(SHA)


@pytest.mark.django_db
def test_name_is_data_not_a_path(local_settings: Any) -> None:
    blob = store(io.BytesIO(DATA), content_type="", name="../../etc/passwd\x00.pdf")
    assert blob.original_name == "../../etc/passwd.pdf"
    assert blob.content_type == "application/octet-stream"
    root = Path(local_settings.STORAGE_ROOT)
    assert [p.name for p in root.rglob("*") if p.is_file()] == [SHA]


def test_factory_follows_settings(settings: Any, tmp_path: Path) -> None:
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_ROOT = tmp_path / "one"
    settings.STORAGE_MIRRORS = []
    first = get_blob_store()
    assert get_blob_store() is first
    assert isinstance(first, LocalBackend) and first.root == tmp_path / "one"
    settings.STORAGE_ROOT = tmp_path / "two"
    second = get_blob_store()
    assert isinstance(second, LocalBackend) and second.root == tmp_path / "two"


def test_factory_builds_s3_from_settings(
    settings: Any, tmp_path: Path, moto_endpoint: str, s3_client: Any, s3_bucket: str
) -> None:
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGE_ROOT = tmp_path / "spool-root"
    settings.S3_BUCKET = s3_bucket
    settings.S3_ENDPOINT_URL = moto_endpoint
    settings.S3_REGION = "us-east-1"
    settings.S3_ACCESS_KEY = ACCESS_KEY
    settings.S3_SECRET_KEY = SECRET_KEY
    backend = get_blob_store()
    assert isinstance(backend, S3Backend)
    ref = backend.put(io.BytesIO(DATA))
    assert s3_client.head_object(Bucket=s3_bucket, Key=backend.key(ref.sha256))
    assert list((tmp_path / "spool-root" / "tmp").iterdir()) == []


@pytest.mark.django_db
def test_verify_command_all_good(local_settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store(io.BytesIO(DATA), content_type="application/pdf")
    store(io.BytesIO(b"other"), content_type="text/plain")
    call_command("storage", "verify")
    out = capsys.readouterr().out
    assert "2 blob(s) verified" in out and "2 ok" in out


@pytest.mark.django_db
def test_verify_command_repairs_from_a_mirror(
    local_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    store(io.BytesIO(DATA), content_type="application/pdf")
    backend = get_blob_store()
    assert isinstance(backend, LocalBackend)
    backend.path(backend.root, SHA).unlink()
    call_command("storage", "verify")
    assert f"{SHA}: repaired" in capsys.readouterr().out
    assert backend.path(backend.root, SHA).read_bytes() == DATA


@pytest.mark.django_db
def test_verify_command_fails_on_missing_and_corrupt(
    settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_ROOT = tmp_path / "blobs"
    settings.STORAGE_MIRRORS = []
    good = store(io.BytesIO(b"fine"), content_type="text/plain")
    gone = store(io.BytesIO(b"gone"), content_type="text/plain")
    bad = store(io.BytesIO(DATA), content_type="application/pdf")
    backend = get_blob_store()
    assert isinstance(backend, LocalBackend)
    backend.path(backend.root, gone.sha256).unlink()
    path = backend.path(backend.root, bad.sha256)
    path.chmod(0o640)
    path.write_bytes(DATA.replace(b"PDF", b"PDX", 1))
    with pytest.raises(CommandError) as info:
        call_command("storage", "verify")
    assert info.value.returncode == 1
    assert "2 of 3 blob(s) missing or corrupt" in str(info.value)
    err = capsys.readouterr().err
    assert f"{gone.sha256}: missing" in err
    assert f"{bad.sha256}: corrupt" in err
    assert good.sha256 not in err
