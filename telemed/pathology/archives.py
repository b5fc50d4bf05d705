"""Slides that arrive zipped: a MIRAX slide is a ``.mrxs`` file beside a folder of the same
name, a DICOM WSI is a folder of instances, so both come as one ZIP.

The ZIP is what the blob store keeps (content-addressed like any slide); OpenSlide reads the
files unpacked once to ``VAR_DIR/pathology/extracted/<sha256>/``. Every entry is checked
before a byte is written: no absolute names, no ``..``, no backslashes or drive letters, no
links, at most MAX_ENTRIES entries and PATHOLOGY_MAX_BYTES unpacked in all (a ZIP bomb is
refused by what its directory declares, and ``zipfile`` never reads past a declared size).
A refusal leaves nothing unpacked.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext

from telemed.core.errors import ValidationFailed
from telemed.pathology.slides import SlideTooLarge, UnsupportedSlide, max_bytes

MAX_ENTRIES = 20_000
# A single-file format inside a ZIP (a technician zipped an SVS to send it).
SINGLE_FILE = (".svs", ".tif", ".tiff", ".ndpi", ".vms", ".scn", ".bif", ".svslide")


class UnsafeArchive(ValidationFailed):
    code = "unsafe_archive"


def is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def root() -> Path:
    return Path(settings.VAR_DIR) / "pathology" / "extracted"


def _safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    parts = PurePosixPath(name).parts
    mode = info.external_attr >> 16
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part in ("..", "") for part in parts)
        or stat.S_ISLNK(mode)
    ):
        raise UnsafeArchive(
            gettext("The archive has an entry that points outside it: %(name)s")
            % {"name": name[:120]}
        )
    return PurePosixPath(*parts)


def check(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The entries with their checked names; UnsafeArchive or SlideTooLarge otherwise."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise UnsafeArchive(
            gettext("The archive has more than %(count)s entries.") % {"count": MAX_ENTRIES}
        )
    checked = [(info, _safe_name(info)) for info in entries]
    limit = max_bytes()
    if sum(info.file_size for info in entries) > limit:
        raise SlideTooLarge(
            gettext("The archive unpacks to more than %(limit)s bytes.") % {"limit": limit},
            details={"max_bytes": limit},
        )
    return checked


def extract(sha256: str, zip_path: Path) -> Path:
    """The archive unpacked (once) under its SHA-256; a failed unpack leaves nothing."""
    target = root() / sha256
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="unpack-", dir=target.parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info, name in check(archive):
                destination = scratch.joinpath(*name.parts)
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
        os.replace(scratch, target)
    except zipfile.BadZipFile as error:
        shutil.rmtree(scratch, ignore_errors=True)
        raise UnsafeArchive(
            gettext("The archive is damaged: %(error)s") % {"error": error}
        ) from error
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return target


def main_entry(directory: Path) -> str:
    """The file OpenSlide opens, relative to the unpacked folder: the ``.mrxs``, else the one
    single-file slide, else a DICOM instance (OpenSlide finds the others beside it)."""
    files = sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file())
    for suffixes in ((".mrxs",), SINGLE_FILE, (".dcm",)):
        found = [f for f in files if f.suffix.lower() in suffixes]
        if found:
            return found[0].as_posix()
    raise UnsupportedSlide(
        gettext(
            "The archive holds no slide: a MIRAX .mrxs with its folder, a DICOM WSI or one slide file."
        )
    )


def entry_path(sha256: str, zip_path: Path, entry: str) -> Path:
    """Where a registered archive's main file lies, unpacking again if var/ was cleared."""
    name = PurePosixPath(entry)
    if name.is_absolute() or ".." in name.parts:
        raise UnsafeArchive(
            gettext("The archive has an entry that points outside it: %(name)s")
            % {"name": entry[:120]}
        )
    return extract(sha256, zip_path).joinpath(*name.parts)
