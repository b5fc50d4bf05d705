"""Whole-slide files through OpenSlide: validation at registration, DeepZoom tiles, the
thumbnail, the label and macro images, and regions for key images.

OpenSlide reads a file by path. With the local blob store that is the blob's own path
(content-addressed and read-only, so it cannot change under an open slide); with another
backend the blob is copied once, re-hashed on the way, to ``VAR_DIR/pathology/slides/``.

Opened slides (``OpenSlide`` + ``DeepZoomGenerator``) are kept per process in a small LRU,
since opening parses every TIFF directory. Tiles are cached in the Django cache, keyed by the
slide's SHA-256 and the tile's address: the content behind a hash never changes, so a cached
tile never goes stale, and with Redis configured every server process shares one cache whose
eviction bounds it (files under var/ would need an eviction of their own).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import openslide
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from telemed.core.errors import DomainError, NotFound, ValidationFailed
from telemed.storage.base import CHUNK_SIZE
from telemed.storage.blobstore import get_blob_store
from telemed.storage.local import LocalBackend

TILE_SIZE = 254
OVERLAP = 1
TILE_FORMAT = "jpeg"
JPEG_QUALITY = 80
# Part of every cache key and ETag: a change of tile parameters must not serve old tiles.
TILE_VERSION = f"v1-{TILE_SIZE}-{OVERLAP}-{JPEG_QUALITY}"
TILE_CACHE_SECONDS = 7 * 24 * 3600
DEFAULT_MAX_PIXELS = 200_000_000_000
DEFAULT_MAX_BYTES = 8 * 1024**3
ASSOCIATED = ("label", "macro")
OPEN_SLIDES = 16
THUMBNAIL_SIDE = 512
REGION_SIDE = 1600


class UnsupportedSlide(DomainError):
    status = 415
    code = "unsupported_slide_format"


class UnreadableSlide(ValidationFailed):
    code = "unreadable_slide"


class SlideTooLarge(DomainError):
    status = 413
    code = "slide_too_large"


def max_pixels() -> int:
    return int(getattr(settings, "PATHOLOGY_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def max_bytes() -> int:
    return int(getattr(settings, "PATHOLOGY_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class SlideInfo:
    vendor: str
    width: int
    height: int
    level_count: int
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    has_label: bool
    has_macro: bool


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number > 0 else None


def inspect(path: Path) -> SlideInfo:
    """Read the slide's metadata and prove its pixels decode: the whole smallest level and
    the last tile of the full-resolution one (a truncated file loses those first). Raises
    UnsupportedSlide, SlideTooLarge or UnreadableSlide with a reason a person can act on."""
    try:
        vendor = openslide.OpenSlide.detect_format(str(path))
    except openslide.OpenSlideError:
        vendor = None
    if vendor is None:
        raise UnsupportedSlide(
            gettext(
                "This is not a whole-slide image OpenSlide can read (Aperio SVS, Hamamatsu "
                "NDPI, MIRAX, Philips or generic tiled TIFF, DICOM WSI, ...)."
            )
        )
    try:
        slide = openslide.OpenSlide(str(path))
    except (openslide.OpenSlideError, OSError) as error:
        raise UnreadableSlide(
            gettext("The slide file is damaged or incomplete: %(error)s") % {"error": _short(error)}
        ) from error
    try:
        width, height = slide.dimensions
        limit = max_pixels()
        if width * height > limit or width <= 0 or height <= 0:
            raise SlideTooLarge(
                gettext("The slide has %(pixels)s pixels; at most %(limit)s are accepted.")
                % {"pixels": width * height, "limit": limit},
                details={"max_pixels": limit},
            )
        smallest = slide.level_count - 1
        small_w, small_h = slide.level_dimensions[smallest]
        if small_w * small_h > 4096 * 4096:
            raise SlideTooLarge(
                gettext("The slide has no reduced levels small enough to be viewed.")
            )
        # Names only: ``name in associated_images`` would decode the image.
        names = set(slide.associated_images)
        try:
            slide.read_region((0, 0), smallest, (small_w, small_h))
            corner = (max(width - 256, 0), max(height - 256, 0))
            slide.read_region(corner, 0, (min(256, width), min(256, height)))
            for name in names & set(ASSOCIATED):
                slide.associated_images[name]
        except openslide.OpenSlideError as error:
            raise UnreadableSlide(
                gettext("The slide's pixels do not decode: %(error)s") % {"error": _short(error)}
            ) from error
        properties = slide.properties
        return SlideInfo(
            vendor=str(vendor)[:32],
            width=width,
            height=height,
            level_count=slide.level_count,
            mpp_x=_float(properties.get(openslide.PROPERTY_NAME_MPP_X)),
            mpp_y=_float(properties.get(openslide.PROPERTY_NAME_MPP_Y)),
            objective_power=_float(properties.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER)),
            has_label="label" in names,
            has_macro="macro" in names,
        )
    finally:
        slide.close()


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:160] if str(error) else type(error).__name__


# -- where OpenSlide finds the file ------------------------------------------------------


def cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "pathology" / "slides"


def local_path(sha256: str) -> Path:
    """A path to the blob's content that OpenSlide can open (see the module docstring)."""
    store = get_blob_store()
    if isinstance(store, LocalBackend):
        if not store.exists(sha256):
            raise NotFound(gettext("The slide's file is missing from the store."))
        path = store.path(store.root, sha256)
        if not path.exists():
            # A missing primary is restored from a mirror by a read through the store.
            with store.open(sha256) as stream:
                stream.read(1)
        return path
    target = cache_dir() / sha256
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="copy-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, store.open(sha256) as stream:
            # The verifying stream raises CorruptBlob at the end if the copy is wrong.
            while chunk := stream.read(CHUNK_SIZE):
                out.write(chunk)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return target


def file_path(source: str) -> Path:
    """The file OpenSlide opens for a slide's ``source``: its blob's SHA-256, or for a zipped
    slide ``<sha256>:<entry>`` (the main file inside the unpacked archive)."""
    sha256, _, entry = source.partition(":")
    path = local_path(sha256)
    if entry:
        from telemed.pathology import archives

        return archives.entry_path(sha256, path, entry)
    return path


def _key(source: str) -> str:
    # Entry names may hold spaces or non-ASCII; cache keys and ETags get a digest instead.
    sha256, _, entry = source.partition(":")
    if not entry:
        return sha256
    return f"{sha256}-{hashlib.sha256(entry.encode()).hexdigest()[:16]}"


# -- opened slides and their tiles -------------------------------------------------------


@dataclass
class Opened:
    slide: openslide.OpenSlide
    deepzoom: DeepZoomGenerator


_opened: OrderedDict[str, Opened] = OrderedDict()
_lock = threading.Lock()


def opened(source: str) -> Opened:
    """The process's open handle on a slide (OpenSlide reads are thread-safe)."""
    with _lock:
        found = _opened.get(source)
        if found is not None:
            _opened.move_to_end(source)
            return found
    slide = openslide.OpenSlide(str(file_path(source)))
    handle = Opened(slide, DeepZoomGenerator(slide, TILE_SIZE, OVERLAP, limit_bounds=True))
    with _lock:
        _opened[source] = handle
        while len(_opened) > OPEN_SLIDES:
            # Dropped, not closed: a request in another thread may still be reading it.
            _opened.popitem(last=False)
    return handle


def forget_opened() -> None:
    """Drop every open handle (tests that replace the store)."""
    with _lock:
        _opened.clear()


def descriptor(source: str) -> str:
    return opened(source).deepzoom.get_dzi(TILE_FORMAT)


def deepzoom_size(source: str) -> tuple[int, int]:
    """The DeepZoom image's size (the slide's bounds), what an edge announces."""
    width, height = opened(source).deepzoom.level_dimensions[-1]
    return int(width), int(height)


def tile_etag(source: str, level: int, col: int, row: int) -> str:
    return f'"{_key(source)}-{TILE_VERSION}-{level}-{col}-{row}"'


def _jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def tile_key(source: str, level: int, col: int, row: int) -> str:
    """The tile's cache key: the same for a tile rendered here and one relayed from the
    sending edge (same content hash, same tile parameters), so either serves the other."""
    return f"pathology:tile:{_key(source)}:{TILE_VERSION}:{level}:{col}:{row}"


def deepzoom_tiles(width: int, height: int) -> list[tuple[int, int]]:
    """Columns and rows of every DeepZoom level of an image of ``width`` x ``height``, as
    OpenSlide's generator lays them out (halving, rounded up, down to 1 x 1), for a slide
    whose file is still at the edge."""
    sizes = [(width, height)]
    while sizes[-1] != (1, 1):
        w, h = sizes[-1]
        sizes.append((max(1, math.ceil(w / 2)), max(1, math.ceil(h / 2))))
    return [(math.ceil(w / TILE_SIZE), math.ceil(h / TILE_SIZE)) for w, h in reversed(sizes)]


def descriptor_for(width: int, height: int) -> str:
    """The DeepZoom descriptor of an image of that size with our tile parameters: what
    ``descriptor`` answers for the slide once its file is here."""
    image = ElementTree.Element(
        "Image",
        TileSize=str(TILE_SIZE),
        Overlap=str(OVERLAP),
        Format=TILE_FORMAT,
        xmlns="http://schemas.microsoft.com/deepzoom/2008",
    )
    ElementTree.SubElement(image, "Size", Width=str(width), Height=str(height))
    out = io.BytesIO()
    ElementTree.ElementTree(image).write(out, encoding="UTF-8")
    return out.getvalue().decode("UTF-8")


def check_address(level_tiles: list[tuple[int, int]], level: int, col: int, row: int) -> None:
    """NotFound with the valid range for a tile address outside the slide."""
    if not 0 <= level < len(level_tiles):
        raise NotFound(
            gettext("There is no level %(level)s: levels are 0 to %(last)s.")
            % {"level": level, "last": len(level_tiles) - 1}
        )
    cols, rows = level_tiles[level]
    if not (0 <= col < cols and 0 <= row < rows):
        raise NotFound(
            gettext("Level %(level)s has %(cols)s x %(rows)s tiles; %(col)s_%(row)s is outside.")
            % {"level": level, "cols": cols, "rows": rows, "col": col, "row": row}
        )


def tile(source: str, level: int, col: int, row: int) -> bytes:
    """One DeepZoom tile as JPEG bytes; NotFound with the valid range when out of range."""
    key = tile_key(source, level, col, row)
    cached = cache.get(key)
    if cached is not None:
        return bytes(cached)
    deepzoom = opened(source).deepzoom
    check_address(list(deepzoom.level_tiles), level, col, row)
    try:
        data = _jpeg(deepzoom.get_tile(level, (col, row)))
    except openslide.OpenSlideError as error:
        raise UnreadableSlide(
            gettext("The slide's pixels do not decode: %(error)s") % {"error": _short(error)}
        ) from error
    cache.set(key, data, TILE_CACHE_SECONDS)
    return data


def thumbnail(source: str, side: int = THUMBNAIL_SIDE) -> bytes:
    key = f"pathology:thumb:{_key(source)}:{side}"
    cached = cache.get(key)
    if cached is not None:
        return bytes(cached)
    data = _jpeg(opened(source).slide.get_thumbnail((side, side)))
    cache.set(key, data, TILE_CACHE_SECONDS)
    return data


def associated(source: str, name: str) -> bytes:
    images = opened(source).slide.associated_images
    if name not in ASSOCIATED or name not in set(images):
        raise NotFound(gettext("This slide has no %(name)s image.") % {"name": name})
    return _jpeg(images[name])


def region(source: str, x: int, y: int, width: int, height: int) -> bytes:
    """A level-0 region rendered to a JPEG no longer than REGION_SIDE on its long side,
    read from the level that needs the least scaling."""
    slide = opened(source).slide
    scale = max(width, height) / REGION_SIDE
    level = slide.get_best_level_for_downsample(max(scale, 1.0))
    downsample = slide.level_downsamples[level]
    size = (max(int(width / downsample), 1), max(int(height / downsample), 1))
    if max(size) > 4 * REGION_SIDE:
        # A slide without enough reduced levels would make this read huge (RGBA in memory).
        raise ValidationFailed(
            gettext("This region is too large to render from this slide's levels; zoom in.")
        )
    image = slide.read_region((x, y), level, size).convert("RGB")
    if max(image.size) > REGION_SIDE:
        image.thumbnail((REGION_SIDE, REGION_SIDE))
    return _jpeg(image, quality=90)
