"""Blobs in any S3-compatible object store (MinIO, Ceph RGW, cloud), through boto3.

An object's name is its content hash, which is only known after the last byte, so ``put``
first spools the stream to a temporary file on local disk (hashing as it goes), then uploads
that file. The upload goes through ``upload_file`` with the file's *path*: s3transfer then
streams each multipart part from disk, whereas ``upload_fileobj`` reads every part into
memory (up to ``max_in_memory_upload_chunks`` x ``multipart_chunksize``). Content that is
already there (``head_object``) is not uploaded again.

Replication and repair of copies are the object store's job (bucket replication, erasure
coding); this backend has no mirrors of its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from telemed.storage.base import (
    CHUNK_SIZE,
    BlobRef,
    BlobStore,
    Readable,
    check_expected,
    check_range,
    copy_hashing,
    verifying_reader,
)
from telemed.storage.errors import BlobNotFound
from telemed.storage.keys import object_name, validate_key

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}

# 16 MiB parts: a 10,000-part upload can then hold 160 GiB, beyond any whole-slide image.
_TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024,
    multipart_chunksize=16 * 1024 * 1024,
    max_concurrency=4,
)


def _is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _NOT_FOUND


def make_client(
    *,
    endpoint_url: str = "",
    region: str = "us-east-1",
    access_key: str = "",
    secret_key: str = "",
) -> Any:
    config = Config(
        signature_version="s3v4",
        retries={"max_attempts": 5, "mode": "standard"},
        # Self-hosted stores (MinIO, RGW) seldom have wildcard DNS for bucket subdomains.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


class S3Backend(BlobStore):
    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        spool_dir: Path | str | None = None,
        prefix: str = "objects",
        transfer_config: TransferConfig = _TRANSFER,
    ) -> None:
        """``spool_dir`` holds uploads while they are hashed: put it on a disk with room for
        the largest upload (not a RAM-backed /tmp)."""
        self.bucket = bucket
        self.client = client if client is not None else make_client()
        self.spool_dir = Path(spool_dir) if spool_dir is not None else None
        self.prefix = prefix
        self.transfer_config = transfer_config

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def key(self, sha256: str) -> str:
        return object_name(sha256, self.prefix)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
        return head

    def put(
        self,
        stream: Readable,
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobRef:
        if expected_sha256 is not None:
            validate_key(expected_sha256)
        if self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="s3put-", dir=self.spool_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                sha256, size = copy_hashing(stream, out, max_bytes=max_bytes)
            check_expected(expected_sha256, sha256)
            head = self._head(sha256)
            if head is None or int(head.get("ContentLength", -1)) != size:
                self.client.upload_file(
                    name,
                    self.bucket,
                    self.key(sha256),
                    ExtraArgs={
                        "ContentType": "application/octet-stream",
                        "Metadata": {"sha256": sha256},
                    },
                    Config=self.transfer_config,
                )
        finally:
            Path(name).unlink(missing_ok=True)
        return BlobRef(sha256, size)

    def open(self, sha256: str) -> BinaryIO:
        key = validate_key(sha256)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise BlobNotFound(f"no blob {key}") from None
            raise
        return verifying_reader(response["Body"], key, where=f"s3://{self.bucket}/{self.key(key)}")

    def exists(self, sha256: str) -> bool:
        return self._head(validate_key(sha256)) is not None

    def size(self, sha256: str) -> int:
        key = validate_key(sha256)
        head = self._head(key)
        if head is None:
            raise BlobNotFound(f"no blob {key}")
        return int(head["ContentLength"])

    def delete(self, sha256: str) -> bool:
        key = validate_key(sha256)
        if self._head(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(key))
        return True

    def iter_chunks(
        self, sha256: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        key = validate_key(sha256)
        first, last = check_range(start, end)
        if last is not None and last == first:
            # An empty range cannot be asked of S3 (bytes=5-4 is invalid); there is still
            # the existence check every other call makes.
            if self._head(key) is None:
                raise BlobNotFound(f"no blob {key}")
            return iter(())
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(key)}
        if first or last is not None:
            # HTTP ranges are inclusive at both ends; ours is half-open.
            args["Range"] = f"bytes={first}-{'' if last is None else last - 1}"
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            if _is_not_found(exc):
                raise BlobNotFound(f"no blob {key}") from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return iter(())  # the range starts at or past the end
            raise
        return self._body_chunks(response["Body"])

    @staticmethod
    def _body_chunks(body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()
