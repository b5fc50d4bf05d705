"""Generated slides, validation at registration, and the refusals that leave nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from telemed.audit.models import AuditEvent
from telemed.core.errors import Conflict, PermissionDenied
from telemed.pathology import slides, testing
from telemed.pathology.models import Slide, SlideState


def test_generated_slides_are_pyramids_openslide_reads(svs: Path, generic: Path) -> None:
    info = slides.inspect(svs)
    assert (info.vendor, info.width, info.height) == ("aperio", 2048, 1536)
    assert info.level_count == 4 and (info.mpp_x, info.mpp_y) == (0.25, 0.25)
    assert info.objective_power == 20 and info.has_label and info.has_macro
    info = slides.inspect(generic)
    assert (info.vendor, info.level_count, info.mpp_x) == ("generic-tiff", 4, None)


def test_the_full_size_test_slide(tmp_path: Path) -> None:
    info = slides.inspect(testing.generic_tiff(tmp_path / "big.tif"))
    assert (info.width, info.height, info.level_count) == (4096, 3072, 5)


def _count() -> int:
    return Slide.objects.unscoped("test").count()


def test_register_keeps_the_metadata(alice, case, svs: Path) -> None:
    slide = testing.upload(alice, case, svs)
    assert slide.state == SlideState.AVAILABLE and slide.vendor == "aperio"
    assert (slide.width, slide.height, slide.mpp_x, slide.stain) == (2048, 1536, 0.25, "H&E")
    assert slide.institution_id == case.requesting_institution_id
    assert slide.size == svs.stat().st_size and len(slide.sha256) == 64
    assert case.events.filter(action="attach_slide").count() == 1
    assert AuditEvent.objects.filter(object_type="pathology_slide", action="create").count() == 1


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"%PDF-1.4 not a slide at all", 415),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, 415),
    ],
)
def test_unsupported_formats_are_refused(alice, case, content: bytes, status: int) -> None:
    from telemed.pathology import services

    with pytest.raises(slides.UnsupportedSlide) as caught:
        services.register_slide(alice, case.pk, io.BytesIO(content), "x.svs")
    assert caught.value.status == status and _count() == 0


def test_truncated_slide_is_refused(alice, case, svs: Path) -> None:
    from telemed.pathology import services

    data = svs.read_bytes()
    for cut in (len(data) // 2, len(data) - 4096):
        with pytest.raises((slides.UnreadableSlide, slides.UnsupportedSlide)) as caught:
            services.register_slide(alice, case.pk, io.BytesIO(data[:cut]), "cut.svs")
        assert caught.value.status in (415, 422)
    assert _count() == 0


def test_corrupt_tile_data_is_refused(alice, case, generic: Path) -> None:
    from telemed.pathology import services

    data = bytearray(generic.read_bytes())
    # Overwrite the middle of the file (tile data) with garbage.
    middle = len(data) // 2
    data[middle - 200_000 : middle + 200_000] = b"\x00" * 400_000
    data[-300_000:] = b"\x13" * 300_000
    with pytest.raises((slides.UnreadableSlide, slides.UnsupportedSlide)):
        services.register_slide(alice, case.pk, io.BytesIO(bytes(data)), "bad.tif")
    assert _count() == 0


def test_decompression_bomb_is_refused(alice, case, svs: Path, settings) -> None:
    settings.PATHOLOGY_MAX_PIXELS = 2048 * 1536 - 1
    with pytest.raises(slides.SlideTooLarge) as caught:
        testing.upload(alice, case, svs)
    assert caught.value.status == 413 and _count() == 0


def test_file_size_limit(alice, case, svs: Path, settings) -> None:
    from telemed.pathology import services
    from telemed.storage.errors import BlobTooLarge

    settings.PATHOLOGY_MAX_BYTES = 1000
    with pytest.raises(BlobTooLarge):
        testing.upload(alice, case, svs)
    # Without a declared size the stream is cut at the limit.
    with pytest.raises(BlobTooLarge):
        services.register_slide(alice, case.pk, io.BytesIO(svs.read_bytes()), "x.svs")
    assert _count() == 0


def test_only_pathology_cases_and_the_requesting_side(alice, charlie, team, svs: Path) -> None:
    from telemed.consultations.testing import draft
    from telemed.core.errors import NotFound

    other_kind = draft(team, record="A-0002")
    with pytest.raises(Conflict):
        testing.upload(alice, other_kind, svs)
    case = testing.pathology_draft(team, record="P-0009")
    with pytest.raises(NotFound):
        testing.upload(charlie, case, svs)
    with pytest.raises(PermissionDenied):
        testing.upload(team.manager, case, svs)
    testing.upload(alice, case, svs)
    with pytest.raises(Conflict):
        testing.upload(alice, case, svs)
    assert _count() == 1


def test_a_region_too_large_for_the_levels_is_refused(tmp_path: Path) -> None:
    import tifffile

    from telemed.core.errors import ValidationFailed

    # One level only, 8000 px wide: a whole-slide key image would need 8000 px at level 0.
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(
        flat,
        testing.tissue(8000, 1000),
        tile=(256, 256),
        compression="jpeg",
        photometric="rgb",
        metadata=None,
    )
    # Opened by hand under a made-up source: the region code is what is tested here.
    handle = slides.openslide.OpenSlide(str(flat))
    source = "flat-test-slide"
    slides._opened[source] = slides.Opened(handle, slides.DeepZoomGenerator(handle))
    with pytest.raises(ValidationFailed):
        slides.region(source, 0, 0, 8000, 1000)
    assert slides.region(source, 0, 0, 1600, 1000).startswith(b"\xff\xd8")
