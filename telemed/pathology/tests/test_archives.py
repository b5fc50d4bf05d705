"""Zipped slides (MIRAX and DICOM WSI come as folders): a safe archive is unpacked once and
served; entries that point outside, links, bombs and archives without a slide are refused
and leave nothing behind."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from telemed.pathology import archives, services, slides
from telemed.pathology.models import Slide
from telemed.testing import sign_in


def _zip(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _register(user, case, data: bytes) -> Slide:
    return services.register_slide(user, case.pk, io.BytesIO(data), "slide.zip")


def test_a_zipped_slide_is_unpacked_and_served(client, team, case, svs: Path) -> None:
    data = _zip({"case 1/readme.txt": b"scanner export", "case 1/core.svs": svs.read_bytes()})
    slide = _register(team.requester, case, data)
    assert (slide.entry, slide.vendor, slide.width) == ("case 1/core.svs", "aperio", 2048)
    sign_in(client, team.requester)
    base = f"/api/pathology/slides/{slide.pk}"
    assert b'Width="2048"' in client.get(f"{base}/slide.dzi").content
    tile = client.get(f"{base}/slide_files/11/0_0.jpeg")
    assert tile.status_code == 200 and tile.content.startswith(b"\xff\xd8")
    # Unpacked again when var/ was cleared.
    import shutil

    shutil.rmtree(archives.root() / slide.sha256)
    slides.forget_opened()
    assert client.get(f"{base}/thumbnail.jpeg").status_code == 200


@pytest.mark.parametrize(
    "name", ["../evil.svs", "/tmp/evil.svs", "a/../../evil.svs", "a\\..\\evil.svs", "C:/evil.svs"]
)
def test_entries_pointing_outside_are_refused(alice, case, name: str) -> None:
    data = _zip({"ok.txt": b"x", name: b"II*\x00"})
    with pytest.raises(archives.UnsafeArchive) as caught:
        _register(alice, case, data)
    assert caught.value.status == 422 and name[:20] in caught.value.message
    assert not Slide.objects.unscoped("test").exists()
    assert not list(archives.root().glob("*/evil.svs"))
    assert not list(archives.root().glob("unpack-*"))


def test_links_bombs_and_empty_archives_are_refused(alice, case, settings) -> None:
    with pytest.raises(archives.UnsafeArchive):
        _register(alice, case, _zip({"a.txt": b"x"}, link="slide.mrxs"))
    with pytest.raises(slides.UnsupportedSlide):
        _register(alice, case, _zip({"notes.txt": b"no slide here"}))
    settings.PATHOLOGY_MAX_BYTES = 50_000
    bomb = _zip({"big.svs": b"\x00" * 10_000_000})
    assert len(bomb) < 50_000
    with pytest.raises(slides.SlideTooLarge):
        _register(alice, case, bomb)
    assert not Slide.objects.unscoped("test").exists()
