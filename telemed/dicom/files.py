"""Reading a received DICOM Part 10 file without loading it whole, and refusing what is not
a sound one.

``inspect`` parses the file meta and the data set up to the pixel data (large values are
deferred, never read), then walks the pixel data element's header (and, when encapsulated,
its fragment headers) by seeking, so a truncated object is found without reading its
frames. What it refuses raises ``Refused`` with the DIMSE status that goes back to the peer.

Decided:

* The 128-byte preamble must be all zeros or a TIFF header (PS3.10 7.5 allows dual-format
  TIFF files); anything else is refused, so a polyglot file (an executable or an archive
  dressed as DICOM, CVE-2019-11687) is never stored.
* UIDs are digits and dots only, at most 64 characters, no empty component: that is the
  whole of UID syntax, and it means no path characters can come from a UID.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pydicom
from django.utils.translation import gettext as _
from pydicom.dataset import Dataset
from pydicom.uid import UID

from telemed.dicom.registry import Refused

# DIMSE statuses (PS3.4 B.2.3 and PS3.7 C).
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000
SOP_CLASS_NOT_SUPPORTED = 0x0122
DUPLICATE_SOP_INSTANCE = 0x0111
PROCESSING_FAILURE = 0x0110

_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_PIXEL_DATA = (0x7FE0, 0x0010)
_ITEM = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER = (0xFFFE, 0xE0DD)
_UNDEFINED = 0xFFFFFFFF
# Values bigger than this stay on disk while the header is parsed.
_DEFER = 64 * 1024
# VRs whose explicit-VR header has two reserved bytes and a 4-byte length.
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}

REQUIRED = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "PatientID",
    "Modality",
)
UID_KEYWORDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def is_valid_uid(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 64 and _UID.fullmatch(value) is not None


@dataclass(frozen=True)
class PixelDataHeader:
    """Where the pixel data value is and how it is encoded (not the value itself)."""

    tag_offset: int  # where the element starts (the data set before it is the header)
    offset: int  # where its value starts
    length: int | None  # None: encapsulated (undefined length), fragments checked
    fragments: int


@dataclass(frozen=True)
class Inspected:
    """A sound Part 10 file: its header attributes (pixel data not loaded) and its size."""

    dataset: Dataset
    transfer_syntax_uid: str
    size: int
    pixel_data: PixelDataHeader | None

    def text(self, keyword: str) -> str:
        value = self.dataset.get(keyword)
        return "" if value is None else str(value).strip()


def inspect(path: Path) -> Inspected:
    """Parse and check ``path``; raise ``Refused`` for anything that is not a sound object."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            raise Refused(CANNOT_UNDERSTAND, _("Not a DICOM file: the DICM prefix is missing."))
        preamble = head[:128]
        if preamble.strip(b"\x00") and not preamble.startswith(_TIFF_MAGIC):
            raise Refused(
                CANNOT_UNDERSTAND,
                _("The file preamble holds foreign content (a polyglot file); refused."),
            )
        handle.seek(0)
        try:
            dataset = pydicom.dcmread(handle, stop_before_pixels=True, defer_size=_DEFER)
            meta = dataset.file_meta
            syntax = UID(str(meta.get("TransferSyntaxUID", "")))
            pixel = None
            if not syntax.is_deflated:
                # The encoding pydicom found, which for a few real files differs from the
                # one their transfer syntax announces.
                implicit, little = dataset.original_encoding
                pixel = _pixel_data_header(handle, bool(implicit), bool(little), size)
        except Refused:
            raise
        except Exception:
            raise Refused(
                CANNOT_UNDERSTAND,
                _("The file could not be parsed as DICOM (damaged or truncated)."),
            ) from None
    if syntax.is_deflated:
        try:
            pixel = _deflated_pixel_header(path)
        except Exception:
            raise Refused(
                CANNOT_UNDERSTAND, _("The deflated data set could not be read.")
            ) from None
    _check_required(dataset, meta, syntax)
    _check_deferred_values_fit(dataset, size)
    return Inspected(dataset, str(syntax), size, pixel)


def _check_required(dataset: Dataset, meta: Dataset, syntax: UID) -> None:
    if not is_valid_uid(str(syntax)):
        raise Refused(CANNOT_UNDERSTAND, _("The transfer syntax UID is missing or malformed."))
    try:
        missing = [k for k in REQUIRED if not str(dataset.get(k, "") or "").strip()]
    except Exception:
        raise Refused(CANNOT_UNDERSTAND, _("A required attribute could not be decoded.")) from None
    if missing:
        raise Refused(
            CANNOT_UNDERSTAND,
            _("Required attributes are missing: %(names)s.") % {"names": ", ".join(missing)},
        )
    for keyword in UID_KEYWORDS:
        if not is_valid_uid(str(dataset.get(keyword))):
            raise Refused(
                CANNOT_UNDERSTAND,
                _("%(name)s is not a valid UID (digits and dots, at most 64 characters).")
                % {"name": keyword},
            )
    if str(meta.get("MediaStorageSOPInstanceUID", "")) not in ("", str(dataset.SOPInstanceUID)):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS,
            _("The file meta names another SOP instance than the data set."),
        )
    if str(meta.get("MediaStorageSOPClassUID", "")) not in ("", str(dataset.SOPClassUID)):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("The file meta names another SOP class than the data set.")
        )


def _check_deferred_values_fit(dataset: Dataset, size: int) -> None:
    # A deferred value is only a position and a length; one that ends past the end of the
    # file means the object was truncated inside it.
    for element in dataset._dict.values():
        tell = getattr(element, "value_tell", None)
        length = getattr(element, "length", None)
        deferred = getattr(element, "value", b"") is None and tell is not None
        if deferred and length is not None and length != _UNDEFINED and tell + length > size:
            raise Refused(CANNOT_UNDERSTAND, _("The file is truncated."))


def _pixel_data_header(
    handle: BinaryIO, implicit: bool, little: bool, size: int
) -> PixelDataHeader | None:
    """Read the pixel data element's header where the parser stopped, and walk encapsulated
    fragments by their headers; raise Refused if the element runs past the end of file."""
    explicit = not implicit
    order = "<" if little else ">"
    tag_offset = handle.tell()
    raw = handle.read(8)
    if len(raw) < 8:
        return None
    group, element = struct.unpack(f"{order}HH", raw[:4])
    if (group, element) != _PIXEL_DATA:
        return None
    if explicit:
        vr = raw[4:6]
        if vr in _LONG_VRS:
            extra = handle.read(4)
            if len(extra) < 4:
                raise Refused(CANNOT_UNDERSTAND, _("The file is truncated."))
            (length,) = struct.unpack(f"{order}L", extra)
        else:
            (length,) = struct.unpack(f"{order}H", raw[6:8])
    else:
        (length,) = struct.unpack(f"{order}L", raw[4:8])
    offset = handle.tell()
    if length != _UNDEFINED:
        if offset + length > size:
            raise Refused(CANNOT_UNDERSTAND, _("The file is truncated inside the pixel data."))
        return PixelDataHeader(tag_offset, offset, length, 0)
    # Encapsulated: items (basic offset table, then fragments), then a sequence delimiter;
    # item headers are always little endian.
    fragments = 0
    while True:
        item = handle.read(8)
        if len(item) < 8:
            raise Refused(CANNOT_UNDERSTAND, _("The file is truncated inside the pixel data."))
        group, element, item_length = struct.unpack("<HHL", item)
        if (group, element) == _SEQUENCE_DELIMITER:
            return PixelDataHeader(tag_offset, offset, None, max(fragments - 1, 0))
        if (group, element) != _ITEM or item_length == _UNDEFINED:
            raise Refused(CANNOT_UNDERSTAND, _("The encapsulated pixel data is malformed."))
        if handle.tell() + item_length > size:
            raise Refused(CANNOT_UNDERSTAND, _("The file is truncated inside the pixel data."))
        handle.seek(item_length, 1)
        fragments += 1


def _deflated_pixel_header(path: Path) -> PixelDataHeader | None:
    # A deflated data set cannot be walked by seeking; it is rare for images and small by
    # nature of the syntax, so pydicom inflates it and reports the element's length.
    dataset = pydicom.dcmread(path)
    element = dataset.get("PixelData")
    if element is None:
        return None
    return PixelDataHeader(-1, -1, len(dataset.PixelData), 0)
