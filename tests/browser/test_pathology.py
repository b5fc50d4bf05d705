"""An expert reads a pathology case's slide in a real browser, on a phone and on a tablet:
the tiles load (none broken), zooming loads the finer levels, a rectangle drawn on the slide
is saved, and the requesting doctor sees it on their own screen, then uploads a second
slide from the page and sees both side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemed.consultations.testing import build_team
from telemed.pathology import testing
from tests.browser.conftest import PC, PHONE, screenshot
from tests.browser.test_consultation_flow import signed_in

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}
VIEWER = ".slide-viewer"


def _tiles(page, kind: str = "Loaded") -> int:
    return int(page.get_attribute(VIEWER, f"data-tiles-{kind.lower()}") or 0)


def _wait_for_tiles(page, more_than: int) -> None:
    page.wait_for_function(f"+document.querySelector('{VIEWER}').dataset.tilesLoaded > {more_than}")


def test_expert_reads_and_marks_a_slide(
    browser, live_server, network, alice, no_second_factor, tmp_path: Path
):
    team = build_team(network, alice)
    case = testing.pathology_draft(team)
    testing.upload(alice, case, testing.aperio_svs(tmp_path / "core.svs", 2048, 1536))
    testing.assign(team, case)
    url = f"{live_server.url}/pathology/cases/{case.pk}/"

    for viewport, name in ((PHONE, "phone"), (TABLET, "tablet")):
        with signed_in(browser, live_server.url, team.expert.username, viewport) as page:
            page.goto(url)
            _wait_for_tiles(page, 0)
            page.wait_for_function(
                "document.querySelector('.slide-viewer').viewer.world.getItemAt(0)"
                "&& document.querySelector('.slide-viewer').viewer.world.getItemAt(0).getFullyLoaded()"
            )
            before = _tiles(page)
            page.evaluate(
                "(() => { const v = document.querySelector('.slide-viewer').viewer;"
                " v.viewport.zoomBy(8); v.viewport.applyConstraints(); })()"
            )
            _wait_for_tiles(page, before)
            assert _tiles(page, "Failed") == 0
            assert page.locator(".scale-bar span").inner_text().endswith("µm")
            if name == "tablet":
                page.click("[data-tool=rectangle]")
                box = page.locator(VIEWER).bounding_box()
                assert box is not None
                x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
                page.mouse.move(x, y)
                page.mouse.down()
                page.mouse.move(x + 80, y + 40, steps=5)
                page.mouse.move(x + 120, y + 60, steps=5)
                page.mouse.up()
                page.locator("[data-testid=annotations] li[data-kind=rectangle]").wait_for()
                assert "µm²" in page.locator("[data-testid=annotations] li").inner_text()
            screenshot(page, f"pathology-{name}.png")
            assert _tiles(page, "Failed") == 0

    with signed_in(browser, live_server.url, alice.username, PC) as page:
        page.goto(url)
        page.locator("[data-testid=annotations] li[data-kind=rectangle]").wait_for()
        page.locator("svg.annotations polygon[data-kind=rectangle]").wait_for(state="attached")
        # A second slide from the page's upload form: both then side by side, both tiled.
        second = testing.generic_tiff(tmp_path / "level-2.tif", 1024, 768)
        page.set_input_files("#slide-file", str(second))
        page.fill("#slide-stain", "HE")
        with page.expect_navigation():
            page.click("#slide-upload button[type=submit]")
        page.locator("[data-testid=slide]").nth(1).wait_for()
        page.wait_for_function(
            "[...document.querySelectorAll('.slide-viewer')].every(v => +v.dataset.tilesLoaded > 0)"
        )
        assert page.locator("[data-testid=slide]").count() == 2
        assert page.locator("[data-testid=mpp-unknown]").count() == 1
        screenshot(page, "pathology-requester.png")
