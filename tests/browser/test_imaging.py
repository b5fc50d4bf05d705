"""An imaging case in a real browser: a county PACS pushes a CT study with dcmtk's storescu
to the running DICOM listener (its calling AE title mapped to the county hospital), the
requester attaches it to an imaging case and submits, quality control sees the
automatic checks beside the study and accepts, a manager triages, the expert reads the study
in the canvas viewer (scrolls to another slice, changes the window: the canvas pixels change),
signs the report, and the requester reads it. The viewer is also driven on a tablet."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from telemed.consultations.models import Conclusion, Consultation
from telemed.consultations.testing import build_team
from telemed.dicom.testing import make_node, running_listener
from telemed.imaging.models import CaseStudy, ImagingStudy
from telemed.imaging.services import Sender, ingest
from telemed.imaging.testing import ct_series
from telemed.imaging.tests.test_pages_studies import assign, imaging_case
from tests.browser.conftest import PC, screenshot
from tests.browser.test_consultation_flow import signed_in, state_on

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}
SLICES = 4
# The sum of the canvas's grey values as drawn (the red channel of every pixel).
CANVAS_SUM = """() => {
  const c = document.querySelector('[data-testid=viewer-canvas]');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += data[i];
  return sum;
}"""


def _receive(network, directory: Path, **attributes: object) -> ImagingStudy:  # type: ignore[no-untyped-def]
    for path in ct_series(
        directory, SLICES, patient_id="A-0001", patient_name="张秀英", **attributes
    ):
        ingest(path, Sender(institution=network.county_a, calling_ae_title="COUNTY_A"))
    return ImagingStudy.objects.unscoped("test").get()


def _pushed_by_storescu(network, directory: Path) -> ImagingStudy:  # type: ignore[no-untyped-def]
    """The county PACS (AE title COUNTY_A, mapped to the county hospital) sends the series
    with storescu to the listener on a loopback port, as in production."""
    if shutil.which("storescu") is None:
        if os.environ.get("CI"):
            pytest.fail("dcmtk's storescu is missing (run `make system-deps`)")
        pytest.skip("dcmtk's storescu is not installed (run `make system-deps`)")
    paths = ct_series(directory, SLICES, patient_id="A-0001", patient_name="张秀英")
    make_node("COUNTY_A", network.county_a)
    with running_listener() as port:
        # -R proposes each file's own transfer syntax, so the bytes are stored as sent.
        sent = subprocess.run(
            ["storescu", "-R", "-aet", "COUNTY_A", "-aec", "TELEMED", "127.0.0.1", str(port)]
            + [str(p) for p in paths],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    study = ImagingStudy.objects.unscoped("test").get()
    assert study.calling_ae_title == "COUNTY_A" and study.instance_count == SLICES
    return study


def _drawn(page: Page) -> int:
    return int(page.locator("[data-testid=viewer-canvas]").get_attribute("data-drawn") or 0)


def _wait_drawn_after(page: Page, count: int) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=viewer-canvas]').dataset.drawn || 0) > n",
        arg=count,
    )


def _read_in_viewer(page: Page, *, swipe: bool, unit: str) -> None:
    """Scroll to the third slice and change the window; the overlay and the pixels follow."""
    page.locator("[data-testid=viewer-slice]", has_text=f"1 / {SLICES}").wait_for()
    page.wait_for_function("document.querySelector('[data-testid=viewer-canvas]').dataset.drawn")
    canvas = page.locator("[data-testid=viewer-canvas]")
    box = canvas.bounding_box()
    assert box is not None
    if swipe:
        # The scroll tool: a vertical drag of two images' worth (12 CSS px each).
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, y + 13, steps=2)
        page.mouse.move(x, y + 25, steps=2)
        page.mouse.up()
    else:
        canvas.hover()
        page.mouse.wheel(0, 120)
        page.locator("[data-testid=viewer-slice]", has_text=f"2 / {SLICES}").wait_for()
        canvas.press("ArrowDown")
    page.locator("[data-testid=viewer-slice]", has_text=f"3 / {SLICES}").wait_for()
    assert page.locator("[data-testid=viewer-width]").inner_text() == "400"
    first = page.evaluate(CANVAS_SUM)
    before = _drawn(page)
    page.click("[data-testid=preset-lung]")
    _wait_drawn_after(page, before)
    assert page.locator("[data-testid=viewer-width]").inner_text() == "1500"
    assert page.locator("[data-testid=viewer-level]").inner_text() == "-600"
    lung = page.evaluate(CANVAS_SUM)
    assert first > 0 and lung != first
    # Zoom with the keys, then back.
    canvas.press("+")
    assert "1.3" in page.locator("[data-testid=viewer-zoom]").inner_text()
    canvas.press("0")
    assert page.locator("[data-testid=viewer-zoom]").inner_text() == ""
    # Free adjustment: the window tool, dragged to the right, widens the window.
    page.click("[data-testid=tool-window]")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 50, y, steps=3)
    page.mouse.up()
    assert int(page.locator("[data-testid=viewer-width]").inner_text()) > 1500
    # A distance: in mm from Pixel Spacing, in pixels when the series has none.
    page.click("[data-testid=tool-measure]")
    page.mouse.move(x - 40, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=3)
    page.mouse.up()
    assert page.locator("[data-testid=viewer-measure]").inner_text().split(" ")[1] == unit


def test_an_imaging_case_from_a_dcmtk_push_to_the_read_report(
    browser, live_server, network, alice, no_second_factor, tmp_path
):
    team = build_team(network, alice)
    study = _pushed_by_storescu(network, tmp_path)
    case = imaging_case(team, requested=False)
    base = live_server.url

    # 1. The requester says what is to be read, attaches the received study on the case's
    #    imaging page and submits.
    with signed_in(browser, base, "alice") as page:
        page.goto(f"{base}/consultations/{case.pk}/")
        page.click("[data-testid=imaging-panel] [data-testid=imaging-case-link]")
        page.fill("#id_modality", "CT")
        page.fill("#id_body_part", "CHEST")
        page.click("[data-testid=request-save]")
        page.locator("[data-testid=attach-form]").wait_for()
        page.check(f"[data-testid=candidate-{study.pk}]")
        page.click("[data-testid=attach-submit]")
        page.locator("[data-testid=study-summary]").wait_for()
        page.click("[data-testid=back-to-case]")
        page.click("[data-testid=action-submit]")
        page.locator("[data-testid=case-number]").wait_for()
        assert state_on(page) == "submitted"
    assert CaseStudy.objects.filter(consultation=case, study=study).exists()

    # 2. Quality control sees the automatic checks with the study beside them, and accepts.
    with signed_in(browser, base, "qc") as page:
        page.goto(f"{base}/consultations/{case.pk}/review/")
        checks = page.locator("[data-testid=automatic-checks]")
        assert checks.locator("li").count() == 6
        assert checks.locator(".text-bg-success").count() == 6, checks.inner_text()
        summary = page.locator("[data-testid=imaging-panel] [data-testid=study-summary]")
        summary.wait_for()
        assert summary.locator("[data-testid=study-counts]").inner_text() == f"1 / {SLICES}"
        for box in page.locator("[data-testid^=check-check_]").all():
            box.check()
        page.click("[data-testid=qc-accept]")
        page.locator("[data-testid=queue-heading]").wait_for()

    # 3. The manager triages to the suggested expert.
    with signed_in(browser, base, "manager") as page:
        page.goto(f"{base}/consultations/{case.pk}/triage/")
        page.locator("[data-testid=suggestions]").wait_for()
        page.check(f"[data-testid=suggestions] [data-testid=expert-{team.expert.pk}]")
        page.click("[data-testid=triage-submit]")
        # Triage leads on to scheduling, which an imaging read does not need.
        page.locator("[data-testid=schedule-form]").wait_for()
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "assigned"

    # 4. The expert reads the study in the viewer and signs the report.
    with signed_in(browser, base, "dr_wang", PC) as page:
        page.goto(f"{base}/consultations/{case.pk}/")
        page.click("[data-testid=imaging-panel] [data-testid=imaging-viewer-link]")
        _read_in_viewer(page, swipe=False, unit="px")
        screenshot(page, "imaging-viewer.png")
        page.click("[data-testid=viewer-report-link]")
        page.fill("#id_technique", "胸部 CT 平扫，层厚 1 mm。")
        page.fill("#id_findings", "右肺上叶见 12 mm 结节。")
        page.fill("#id_impression", "右肺上叶结节，建议随访。")
        page.fill("#id_icd10_codes", "R91")
        page.fill("#id_recommendations", "三个月后复查 CT。")
        page.click("[data-testid=report-sign]")
        page.locator("[data-testid=imaging-report]").wait_for()
    signed = Conclusion.objects.unscoped("test").get(consultation=case)

    # 5. The requester reads the signed report, and its PDF opens.
    with signed_in(browser, base, "alice") as page:
        page.goto(f"{base}/imaging/cases/{case.pk}/")
        report = page.locator("[data-testid=imaging-report]")
        assert "右肺上叶结节，建议随访。" in report.inner_text()
        assert page.locator("[data-testid=report-hash]").inner_text() == signed.text_sha256
        answer = page.request.get(f"{base}/imaging/cases/{case.pk}/report.pdf")
        assert answer.ok and answer.body().startswith(b"%PDF")


def test_the_viewer_on_a_tablet(browser, live_server, network, alice, no_second_factor, tmp_path):
    team = build_team(network, alice)
    study = _receive(network, tmp_path, PixelSpacing=[0.5, 0.5])
    case = imaging_case(team)
    CaseStudy.objects.create(consultation=case, study=study, attached_by=alice)
    assign(team, case)
    with signed_in(browser, live_server.url, "dr_wang", TABLET) as page:
        page.goto(f"{live_server.url}/imaging/cases/{case.pk}/viewer/")
        _read_in_viewer(page, swipe=True, unit="mm")
        page.locator("[data-testid=viewer-slider]").fill("4")
        page.locator("[data-testid=viewer-slice]", has_text=f"4 / {SLICES}").wait_for()
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        screenshot(page, "imaging-viewer-tablet.png")


def test_the_viewer_shows_every_frame_and_falls_back_to_rendered_for_compressed(
    browser, live_server, network, alice, no_second_factor, tmp_path
):
    import numpy as np
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    from telemed.imaging.testing import ct_dataset, write

    frames = np.stack([np.full((32, 32), 1000 + 100 * i, dtype=np.uint16) for i in range(3)])
    multiframe = ct_dataset(
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        rows=32,
        columns=32,
        NumberOfFrames=3,
        PixelData=frames.tobytes(),
    )
    sender = Sender(institution=network.county_a, calling_ae_title="COUNTY_A")
    ingest(write(multiframe, tmp_path / "multiframe.dcm"), sender)
    # An RLE-compressed MR slice that ships inside pydicom (never downloaded).
    ingest(Path(str(get_testdata_file("MR_small_RLE.dcm", download=False))), sender)
    studies = {s.modalities: s for s in ImagingStudy.objects.unscoped("test")}
    base = live_server.url
    with signed_in(browser, base, "alice") as page:
        page.goto(f"{base}/imaging/studies/{studies['CT'].pk}/viewer/")
        page.locator("[data-testid=viewer-slice]", has_text="1 / 3").wait_for()
        page.wait_for_function(
            "document.querySelector('[data-testid=viewer-canvas]').dataset.drawn"
        )
        first = page.evaluate(CANVAS_SUM)
        before = _drawn(page)
        page.locator("[data-testid=viewer-canvas]").press("End")
        page.locator("[data-testid=viewer-slice]", has_text="3 / 3").wait_for()
        _wait_drawn_after(page, before)
        assert page.evaluate(CANVAS_SUM) != first
        assert page.locator("[data-testid=viewer-status]").inner_text() == ""

        page.goto(f"{base}/imaging/studies/{studies['MR'].pk}/viewer/")
        page.locator("[data-testid=viewer-slice]", has_text="1 / 1").wait_for()
        page.wait_for_function(
            "document.querySelector('[data-testid=viewer-canvas]').dataset.drawn"
        )
        assert page.locator("[data-testid=viewer-status]").inner_text() != ""
        assert page.evaluate(CANVAS_SUM) > 0


def test_the_requester_uploads_files_with_a_progress_bar(
    browser, live_server, network, alice, no_second_factor, tmp_path
):
    good = ct_series(tmp_path / "good", 2, patient_id="A-0009")
    bad = tmp_path / "not-dicom.dcm"
    bad.write_bytes(b"this is not a DICOM file" * 10)
    base = live_server.url
    with signed_in(browser, base, "alice") as page:
        page.goto(f"{base}/imaging/")
        page.click("[data-testid=upload-link]")
        page.set_input_files("[data-testid=upload-files]", [str(p) for p in [*good, bad]])
        page.click("[data-testid=upload-submit]")
        page.locator("[data-testid=upload-failures] li").wait_for()
        assert page.locator("[data-testid=upload-progress]").inner_text() == "100%"
        result = page.locator("[data-testid=upload-result]").inner_text()
        assert "2" in result and "1" in result
        page.goto(f"{base}/imaging/")
        assert page.locator("[data-testid=study-row]").count() == 1
    assert ImagingStudy.objects.unscoped("test").get().instance_count == 2


def test_imaging_pages_fit_a_phone(
    browser, live_server, network, alice, no_second_factor, tmp_path
):
    from tests.browser.conftest import PHONE
    from tests.browser.test_consultation_flow import no_horizontal_overflow

    team = build_team(network, alice)
    study = _receive(network, tmp_path)
    case = imaging_case(team)
    base = live_server.url
    with signed_in(browser, base, "alice", PHONE) as page:
        for path in (
            "/imaging/",
            f"/imaging/studies/{study.pk}/",
            f"/imaging/studies/{study.pk}/viewer/",
            "/imaging/upload/",
            f"/imaging/cases/{case.pk}/",
        ):
            page.goto(f"{base}{path}")
            page.wait_for_load_state()
            assert no_horizontal_overflow(page), path


def test_an_external_expert_reads_the_study_de_identified(
    browser, live_server, network, alice, no_second_factor, tmp_path
):
    """The viewer of an external partner's expert is driven by the pseudonymous UIDs alone
    (series, metadata, frames) and names the patient by the pseudonym."""
    from telemed.imaging.tests.deid_helpers import share

    shared = share(network, build_team(network, alice), tmp_path)
    slices = 3
    with signed_in(browser, live_server.url, "dr_ext", PC) as page:
        page.goto(f"{live_server.url}/imaging/cases/{shared.external_case.pk}/viewer/")
        page.locator("[data-testid=viewer-slice]", has_text=f"1 / {slices}").wait_for()
        page.wait_for_function(
            "document.querySelector('[data-testid=viewer-canvas]').dataset.drawn"
        )
        patient = page.locator("[data-testid=viewer-patient]").inner_text()
        assert "已去标识 ANON-" in patient
        assert (
            "Zhang" not in page.content() and shared.study.study_instance_uid not in page.content()
        )
        first = page.evaluate(CANVAS_SUM)
        before = _drawn(page)
        page.locator("[data-testid=viewer-canvas]").press("End")
        page.locator("[data-testid=viewer-slice]", has_text=f"3 / {slices}").wait_for()
        _wait_drawn_after(page, before)
        assert page.evaluate(CANVAS_SUM) != first
        assert page.locator("[data-testid=viewer-status]").inner_text() == ""
        screenshot(page, "imaging-viewer-deidentified.png")
