"""Fixtures: a local store, and an S3 store against a real HTTP S3 emulator.

The S3 side runs moto in server mode as a subprocess on a free port of 127.0.0.1, so
boto3 speaks real HTTP (signing, multipart, ranges, streaming bodies) to it. moto is an
emulator: behaviour only a real service has (consistency under concurrency, throttling,
part-size limits of a given vendor, replication) is not covered by these tests.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telemed.storage.base import BlobStore
from telemed.storage.local import LocalBackend
from telemed.storage.s3 import S3Backend, make_client

ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited early with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered, even if with an error status
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer on {url} within {timeout}s")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint + "/moto-api/", process)
        yield endpoint
    finally:
        # Only the process this fixture started, by its handle.
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_client(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Keep a developer's ~/.aws settings and any proxy out of the way of the emulator.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return make_client(
        endpoint_url=moto_endpoint,
        region="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    bucket = f"blobs-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_store(s3_client: Any, s3_bucket: str, tmp_path: Path) -> S3Backend:
    return S3Backend(s3_bucket, client=s3_client, spool_dir=tmp_path / "spool")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "primary")


@pytest.fixture
def mirrored_store(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "primary", [tmp_path / "mirror1", tmp_path / "mirror2"])


@pytest.fixture(params=["local", "mirrored", "s3"])
def store(request: pytest.FixtureRequest) -> BlobStore:
    name = {"local": "local_store", "mirrored": "mirrored_store", "s3": "s3_store"}[request.param]
    backend: BlobStore = request.getfixturevalue(name)
    return backend


def overwrite(store: BlobStore, sha256: str, data: bytes) -> None:
    """Replace a stored object's bytes behind the store's back (every copy)."""
    if isinstance(store, S3Backend):
        store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=data)
    elif isinstance(store, LocalBackend):
        for root in store.roots:
            path = store.path(root, sha256)
            path.chmod(0o640)
            path.write_bytes(data)
    else:
        raise TypeError(store)
