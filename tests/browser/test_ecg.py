"""An ECG from a township-style requester to two on-duty experts and back, in real browsers
over real WebSockets (uvicorn with the ASGI application): it appears live in both experts'
worklists, one claims it, the other sees it taken, the claimer reads it in the 12-lead
viewer and signs, and the requester's open page shows the report without a reload. A cart's
ECG sent by DICOM C-STORE goes live to the experts the same way."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from telemed.consultations.models import Consultation
from telemed.dicom.testing import make_node, running_listener
from telemed.ecg.services import display_name
from telemed.ecg.testing import build_world, wfdb_files
from telemed.ecg.tests import dicom_fixtures as dcm
from telemed.testing import PASSWORD, build_network
from tests.browser.conftest import PC, PHONE, screenshot
from tests.browser.test_board_live import asgi_server  # noqa: F401  (the uvicorn fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def signed_in(
    browser: Browser, base: str, username: str, viewport: dict[str, int] = PC
) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("[data-testid=sign-in-submit]")
        page.locator("h1[data-testid^=home-]").wait_for()
        yield page
    finally:
        context.close()


def live(page: Page) -> None:
    page.locator("[data-testid=ecg-live][data-state=live]").wait_for()


def test_an_ecg_goes_live_to_two_experts_and_its_report_back(
    browser,
    asgi_server,  # noqa: F811  (the imported fixture)
    no_second_factor,
):
    world = build_world(build_network(), experts=2)
    first, second = world.experts
    base = asgi_server
    with (
        signed_in(browser, base, first.username) as a,
        signed_in(browser, base, second.username, PHONE) as b,
        signed_in(browser, base, world.requester.username) as requester,
    ):
        for expert in (a, b):
            expert.goto(f"{base}/ecg/")
            live(expert)
        requester.goto(f"{base}/ecg/new/")
        requester.select_option("#ecg-patient", str(world.patient.pk))
        requester.set_input_files(
            "[data-testid=ecg-files]",
            [
                {"name": name, "mimeType": "application/octet-stream", "buffer": content}
                for name, content in wfdb_files(heart_rate=35).items()
            ],
        )
        requester.click("[data-testid=ecg-send-submit]")
        requester.locator("[data-testid=ecg-report-pending]").wait_for()
        live(requester)
        case = Consultation.objects.unscoped("test").get(kind="ecg")

        # Live in both worklists, flagged critical, without a reload.
        rows = [page.locator(f"tr[data-id='{case.pk}']") for page in (a, b)]
        for row in rows:
            row.wait_for()
            assert row.get_attribute("data-critical") == "1"
        screenshot(b, "ecg-worklist-phone.png")

        rows[0].locator("[data-testid=ecg-claim]").click()
        a.locator("[data-testid=ecg-report-form]").wait_for()
        # The other expert sees who took it; the claim button is gone.
        taken = rows[1].locator("[data-testid=ecg-status]")
        taken.filter(has_text=display_name(first)).wait_for()
        assert rows[1].locator("[data-testid=ecg-claim]").count() == 0

        # The 12-lead viewer: 3 x 4 leads plus the rhythm strip, then one lead at 50 mm/s.
        a.locator("[data-testid=ecg-svg][data-layout='12'] polyline[data-lead]").nth(12).wait_for()
        assert a.locator("[data-testid=ecg-svg] polyline[data-lead]").count() == 13
        screenshot(a, "ecg-12-lead.png")
        # Calipers: two clicks 20 mm apart at 25 mm/s measure 800 ms (75 bpm).
        a.click("[data-control=calipers]")
        svg = a.locator("[data-testid=ecg-svg]")
        box = svg.bounding_box()
        assert box is not None
        px_per_mm = box["width"] / float(svg.evaluate("s => s.viewBox.baseVal.width"))
        svg.click(position={"x": 50 * px_per_mm, "y": 10 * px_per_mm})
        svg.click(position={"x": 70 * px_per_mm, "y": 10 * px_per_mm})
        readout = a.locator("[data-testid=ecg-caliper-readout]")
        assert abs(int(readout.get_attribute("data-ms") or 0) - 800) <= 15  # a pixel each side
        a.select_option("[data-control=speed]", "50")
        a.click("[data-layout=single]")
        a.locator("[data-testid=ecg-svg][data-layout=single][data-speed='50']").wait_for()
        screenshot(a, "ecg-case.png")

        # The analysis pre-selected its rhythm; the expert adds a finding by clicking it.
        assert a.is_checked("#ph-sinus_bradycardia")
        a.click("[data-testid=ecg-phrase-t_wave_changes]")
        a.click("[data-testid=ecg-sign]")
        a.locator("[data-testid=ecg-report-diagnosis]").wait_for()

        # The requester's page, open all along, shows the signed report.
        diagnosis = requester.locator("[data-testid=ecg-report-diagnosis]")
        diagnosis.wait_for()
        assert "窦性心动过缓" in diagnosis.inner_text()
        assert "T 波改变" in diagnosis.inner_text()
        screenshot(requester, "ecg-report.png")
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "concluded"


def test_an_ecg_sent_by_a_cart_over_dicom_goes_live_to_two_experts(
    browser,
    asgi_server,  # noqa: F811  (the imported fixture)
    no_second_factor,
    tmp_path,
):
    """A township clinic's cart pushes a 12-lead ECG (the real PTB record) with dcmtk's
    storescu to the DICOM listener: it appears in both on-duty experts' worklists without a
    reload, one claims it and the other sees it taken."""
    if shutil.which("storescu") is None:
        pytest.skip("dcmtk is not installed")
    world = build_world(build_network(), experts=2)
    first, second = world.experts
    make_node("CART_A", world.network.county_a)
    cart_file = dcm.write(dcm.ecg_object(dcm.ptb_twelve_lead()), tmp_path / "cart.dcm")
    base = asgi_server
    with (
        running_listener() as port,
        signed_in(browser, base, first.username) as a,
        signed_in(browser, base, second.username, PHONE) as b,
    ):
        for expert in (a, b):
            expert.goto(f"{base}/ecg/")
            live(expert)
        sent = subprocess.run(
            ["storescu", "-aet", "CART_A", "-aec", "TELEMED", "127.0.0.1", str(port), cart_file],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        case = Consultation.objects.unscoped("test").get(kind="ecg")

        rows = [page.locator(f"tr[data-id='{case.pk}']") for page in (a, b)]
        for row in rows:
            row.wait_for()
        rows[1].locator("[data-testid=ecg-claim]").click()
        b.locator("[data-testid=ecg-report-form]").wait_for()
        taken = rows[0].locator("[data-testid=ecg-status]")
        taken.filter(has_text=display_name(second)).wait_for()
        assert rows[0].locator("[data-testid=ecg-claim]").count() == 0
        # The claimer reads the DICOM tracing in the 12-lead viewer.
        b.locator("[data-testid=ecg-svg] polyline[data-lead]").nth(12).wait_for()
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "assigned"


def test_an_aecg_sent_from_the_page_goes_live_to_two_experts(
    browser,
    asgi_server,  # noqa: F811  (the imported fixture)
    no_second_factor,
):
    """A clinic uploads an HL7 aECG (XML) tracing on the send page: it is measured and goes
    live to both on-duty experts; one claims it on a phone, the other sees it taken."""
    from telemed.ecg.tests.signal_fixtures import aecg_bytes, synthetic

    world = build_world(build_network(), experts=2)
    first, second = world.experts
    record, _truth = synthetic(heart_rate=72)
    base = asgi_server
    with (
        signed_in(browser, base, first.username) as a,
        signed_in(browser, base, second.username, PHONE) as b,
        signed_in(browser, base, world.requester.username) as requester,
    ):
        for expert in (a, b):
            expert.goto(f"{base}/ecg/")
            live(expert)
        requester.goto(f"{base}/ecg/new/")
        requester.select_option("#ecg-patient", str(world.patient.pk))
        requester.set_input_files(
            "[data-testid=ecg-files]",
            [{"name": "cart.xml", "mimeType": "text/xml", "buffer": aecg_bytes(record)}],
        )
        requester.click("[data-testid=ecg-send-submit]")
        requester.locator("[data-testid=ecg-report-pending]").wait_for()
        case = Consultation.objects.unscoped("test").get(kind="ecg")
        assert case.ecg_recording.source_format == "aecg"
        assert 67 <= (case.ecg_recording.analysis.get("heart_rate_bpm") or 0) <= 77

        rows = [page.locator(f"tr[data-id='{case.pk}']") for page in (a, b)]
        for row in rows:
            row.wait_for()
        rows[1].locator("[data-testid=ecg-claim]").click()
        b.locator("[data-testid=ecg-report-form]").wait_for()
        rows[0].locator("[data-testid=ecg-status]").filter(has_text=display_name(second)).wait_for()
        assert rows[0].locator("[data-testid=ecg-claim]").count() == 0
    assert Consultation.objects.unscoped("test").get(pk=case.pk).state == "assigned"
