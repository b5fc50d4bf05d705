"""Sanity of an image's pixel description: refuse absurd dimensions and pixel data whose
length does not match Rows x Columns x frames x samples x bits, before anything is stored."""

from __future__ import annotations

from django.utils.translation import gettext as _
from pydicom.uid import UID

from telemed.dicom.files import DOES_NOT_MATCH_SOP_CLASS, OUT_OF_RESOURCES, Inspected
from telemed.dicom.registry import Refused

# The largest matrix any radiology modality makes is a few thousand pixels a side (DR and
# mammography detectors); 16384 leaves room while refusing 65535 x 65535 bombs.
MAX_DIMENSION = 16384
MAX_FRAMES = 5000
# 4 GiB of decoded pixels: what one viewer could ever be asked to hold for one instance.
MAX_PIXEL_BYTES = 4 * 1024**3
BITS_ALLOCATED = (1, 8, 16, 32, 64)


def _int(inspected: Inspected, keyword: str, default: int | None = None) -> int | None:
    value = inspected.dataset.get(keyword)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("%(name)s is not a number.") % {"name": keyword}
        ) from None


def check_image(inspected: Inspected) -> None:
    """Raise ``Refused`` unless the image's pixel module describes pixel data it really has."""
    rows = _int(inspected, "Rows")
    columns = _int(inspected, "Columns")
    if not rows or not columns:
        raise Refused(DOES_NOT_MATCH_SOP_CLASS, _("An image needs Rows and Columns."))
    if rows > MAX_DIMENSION or columns > MAX_DIMENSION:
        raise Refused(
            OUT_OF_RESOURCES,
            _("Image dimensions %(rows)s x %(columns)s exceed the limit of %(limit)s.")
            % {"rows": rows, "columns": columns, "limit": MAX_DIMENSION},
        )
    frames = _int(inspected, "NumberOfFrames", 1) or 1
    samples = _int(inspected, "SamplesPerPixel", 1) or 1
    bits = _int(inspected, "BitsAllocated")
    if frames < 1 or frames > MAX_FRAMES:
        raise Refused(OUT_OF_RESOURCES, _("The number of frames is out of range."))
    if samples not in (1, 3, 4) or bits not in BITS_ALLOCATED:
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS, _("Samples per pixel or bits allocated are not valid.")
        )
    total_bits = rows * columns * frames * samples * bits
    expected = (total_bits + 7) // 8
    if expected > MAX_PIXEL_BYTES:
        raise Refused(OUT_OF_RESOURCES, _("The decoded image would be too large."))
    pixel = inspected.pixel_data
    if pixel is None:
        raise Refused(DOES_NOT_MATCH_SOP_CLASS, _("The image has no pixel data."))
    encapsulated = UID(inspected.transfer_syntax_uid).is_encapsulated
    if encapsulated != (pixel.length is None):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS,
            _("The pixel data encoding does not match the transfer syntax."),
        )
    if pixel.length is not None and pixel.length not in (expected, expected + expected % 2):
        raise Refused(
            DOES_NOT_MATCH_SOP_CLASS,
            _("The pixel data length (%(actual)s bytes) does not match the image (%(expected)s).")
            % {"actual": pixel.length, "expected": expected},
        )
    if pixel.length is None and pixel.fragments < 1:
        raise Refused(DOES_NOT_MATCH_SOP_CLASS, _("The compressed pixel data has no fragments."))
