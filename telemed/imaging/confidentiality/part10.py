"""A stored instance streamed out de-identified: the header (everything before the pixel
data) is parsed, put through the profile and written again in the instance's own encoding;
the pixel data element passes through byte for byte as it is read; what follows it (trailing
padding, late private groups) is small and goes through the profile too. One read of the
stored object through the verifying stream, one header in memory at a time.

Objects without pixel data (structured reports, key objects, presentation states) and
deflated data sets cannot be split that way; they are small by nature and are read whole,
one at a time.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

from telemed.imaging.confidentiality.profile import Replacements, clean, deidentify
from telemed.imaging.models import ImagingInstance
from telemed.storage.base import CHUNK_SIZE
from telemed.storage.blobstore import get_blob_store

_ITEM = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER = (0xFFFE, 0xE0DD)


def header(data: bytes) -> pydicom.FileDataset:
    return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)


def _read(stream: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        chunk = stream.read(min(size, CHUNK_SIZE))
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _encode(dataset: Dataset, implicit: bool, little: bool, *, meta: bool) -> bytes:
    out = DicomBytesIO()
    if meta:
        file_meta = dataset.file_meta
        file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        file_meta.ImplementationVersionName = "TELEMED_DEID"
        # The sender's preamble is not passed on (a TIFF header in it may say anything).
        out.write(b"\x00" * 128 + b"DICM")
        write_file_meta_info(out, file_meta, enforce_standard=True)
    out.is_implicit_VR = implicit
    out.is_little_endian = little
    write_dataset(out, dataset)
    return out.getvalue()


def _passthrough(stream: BinaryIO, size: int) -> Iterator[bytes]:
    while size > 0:
        chunk = stream.read(min(size, CHUNK_SIZE))
        if not chunk:
            return
        size -= len(chunk)
        yield chunk


def _encapsulated(stream: BinaryIO, element_header: int, tail: list[bytes]) -> Iterator[bytes]:
    """Pass the element through up to and with its sequence delimiter (item headers are
    read as they go by); what was read beyond it is left in ``tail``."""
    buffer = bytearray()
    through = element_header  # bytes to pass before the next item header
    while True:
        if through:
            if not buffer:
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    return
                buffer += chunk
            step = min(through, len(buffer))
            yield bytes(buffer[:step])
            del buffer[:step]
            through -= step
            continue
        while len(buffer) < 8:
            chunk = stream.read(CHUNK_SIZE)
            if not chunk:
                tail.append(bytes(buffer))
                return
            buffer += chunk
        group, element, length = struct.unpack("<HHL", buffer[:8])
        if (group, element) == _SEQUENCE_DELIMITER:
            yield bytes(buffer[:8])
            tail.append(bytes(buffer[8:]))
            return
        if (group, element) != _ITEM:
            raise ValueError("encapsulated pixel data without an item where one belongs")
        through = 8 + length


def _whole(stream: BinaryIO, replacements: Replacements) -> Iterator[bytes]:
    dataset = pydicom.dcmread(io.BytesIO(stream.read()))
    deidentify(dataset, replacements)
    out = io.BytesIO()
    implicit, little = dataset.original_encoding
    dataset.save_as(
        out, enforce_file_format=True, implicit_vr=bool(implicit), little_endian=bool(little)
    )
    yield out.getvalue()


def deidentified(instance: ImagingInstance, replacements: Replacements) -> Iterator[bytes]:
    """The instance's Part 10 bytes with the profile applied; the pixel data as stored."""
    syntax = UID(instance.transfer_syntax_uid)
    with get_blob_store().open(instance.blob.sha256) as stream:
        if instance.pixel_data_tag_offset is None or syntax.is_deflated:
            yield from _whole(stream, replacements)
            return
        dataset = header(_read(stream, instance.pixel_data_tag_offset))
        implicit, little = (bool(v) for v in dataset.original_encoding)
        deidentify(dataset, replacements)
        yield _encode(dataset, implicit, little, meta=True)
        element_header = (instance.pixel_data_offset or 0) - instance.pixel_data_tag_offset
        tail: list[bytes] = []
        if instance.pixel_data_length is not None:
            yield from _passthrough(stream, element_header + instance.pixel_data_length)
        else:
            yield from _encapsulated(stream, element_header, tail)
        rest = b"".join(tail) + stream.read()
        while stream.read(CHUNK_SIZE):  # to the end, so the stream verifies the whole object
            pass
        if rest:
            trailer = read_dataset(io.BytesIO(rest), implicit, little)
            clean(trailer, replacements)
            if len(trailer):
                yield _encode(trailer, implicit, little, meta=False)
