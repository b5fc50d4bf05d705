"""Reading a multipart/related body part by part, each spooled to a temporary file, so that
a STOW-RS upload never sits whole in memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.utils.translation import gettext as _

from telemed.imaging.dicomweb.common import DicomwebError

_CHUNK = 256 * 1024
_MAX_HEADERS = 16 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]
    path: Path

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type (400 when there is none)."""
    for parameter in content_type.split(";")[1:]:
        name, _sep, value = parameter.strip().partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip().strip('"')
            if 0 < len(value) <= 70:
                return value
    raise DicomwebError(400, _("The multipart body has no boundary."), code="bad_request")


class _Reader:
    def __init__(self, stream: Readable) -> None:
        self.stream = stream
        self.buffer = b""
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True


@contextmanager
def parts(stream: Readable, boundary: str, directory: Path) -> Iterator[Iterator[Part]]:
    """Yield an iterator over the body's parts; each part's file is removed when the next
    part is read (or at the end), so only one part is on disk at a time."""
    files: list[Path] = []
    try:
        yield _parts(_Reader(stream), boundary.encode("latin-1"), directory, files)
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def _malformed() -> DicomwebError:
    return DicomwebError(400, _("The multipart body is malformed."), code="bad_request")


def _parts(reader: _Reader, boundary: bytes, directory: Path, files: list[Path]) -> Iterator[Part]:
    first = b"--" + boundary
    delimiter = b"\r\n--" + boundary
    # Skip the preamble up to the first delimiter.
    while True:
        at = reader.buffer.find(first)
        if at >= 0 and (at == 0 or reader.buffer[at - 2 : at] == b"\r\n"):
            reader.buffer = reader.buffer[at + len(first) :]
            break
        if not reader.fill():
            raise _malformed()
    while True:
        while len(reader.buffer) < 2 and reader.fill():
            pass
        if reader.buffer.startswith(b"--"):
            return  # the close delimiter
        while b"\r\n\r\n" not in reader.buffer:
            if len(reader.buffer) > _MAX_HEADERS or not reader.fill():
                raise _malformed()
        head, reader.buffer = reader.buffer.split(b"\r\n\r\n", 1)
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _sep, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        for path in files:
            path.unlink(missing_ok=True)
        files.clear()
        with tempfile.NamedTemporaryFile(dir=directory, prefix="stow-", delete=False) as handle:
            path = Path(handle.name)
            files.append(path)
            while True:
                at = reader.buffer.find(delimiter)
                if at >= 0:
                    handle.write(reader.buffer[:at])
                    reader.buffer = reader.buffer[at + len(delimiter) :]
                    break
                # Keep what could be the start of a delimiter split across two reads.
                keep = len(delimiter) - 1
                if len(reader.buffer) > keep:
                    handle.write(reader.buffer[:-keep])
                    reader.buffer = reader.buffer[-keep:]
                if not reader.fill():
                    raise _malformed()
        yield Part(headers, path)
