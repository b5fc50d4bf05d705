"""A case from draft to signed conclusion, by clicking in a real browser: a county doctor
requests (naming an expert and a free time), quality control accepts, a manager triages and
schedules on a phone, the province expert signs, the requester reads the signed conclusion
and its history. Selectors are data-testid attributes, so the test holds in any language."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from telemed.consultations.models import Consultation
from telemed.consultations.testing import build_team
from telemed.testing import PASSWORD
from tests.browser.conftest import PC, PHONE, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


@contextmanager
def signed_in(
    browser: Browser, base: str, username: str, viewport: dict[str, int] = PC
) -> Iterator[Page]:
    """A fresh browser (its own cookies) with ``username`` signed in, on the home page."""
    context = browser.new_context(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{base}/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("[data-testid=sign-in-submit]")
        page.locator("h1[data-testid^=home-]").wait_for()
        yield page
    finally:
        context.close()


@contextmanager
def picker_reload(page: Page) -> Iterator[None]:
    """Wait until htmx has swapped in (and settled) the reloaded expert picker, so the next
    field is used on the new fields, not on the old ones being replaced."""
    page.evaluate("document.querySelector('#expert-picker').dataset.stale = 'yes'")
    yield
    page.locator("#expert-picker:not([data-stale]):not(.htmx-added)").wait_for()


def no_horizontal_overflow(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def state_on(page: Page) -> str | None:
    return page.locator("[data-testid=case-number] ~ [data-testid=state]").get_attribute(
        "data-state"
    )


def test_draft_to_signed_conclusion_in_the_browser(
    browser, live_server, network, alice, alice_patient, no_second_factor
):
    started = time.monotonic()
    team = build_team(network, alice)
    base = live_server.url

    # 1. The county doctor requests a consultation from the patient's page, names the
    #    province expert and picks one of the expert's free times.
    with signed_in(browser, base, "alice") as page:
        page.goto(f"{base}/patients/{alice_patient.pk}/")
        page.click("[data-testid=new-consultation]")
        page.locator("[data-testid=request-form]").wait_for()
        page.wait_for_load_state()  # htmx is loaded (deferred) before the fields are used
        page.select_option("#id_urgency", "urgent")
        page.fill("#id_clinical_summary", "男，62岁。胸痛三天，心电图ST段压低。")
        page.fill("#id_question", "是否需要介入治疗？")
        with picker_reload(page):
            page.select_option("#id_wanted_specialty", "cardiology")
        with picker_reload(page):
            page.select_option("#id_wanted_expert", str(team.expert.pk))
        slots = page.locator("#id_wanted_start option:not([value=''])")
        slots.first.wait_for(state="attached")
        wanted = slots.first.get_attribute("value")
        assert wanted
        page.select_option("#id_wanted_start", wanted)
        page.check("#id_consent_confirmed")
        page.click("[data-testid=request-submit]")
        page.locator("[data-testid=case-number]").wait_for()
        assert state_on(page) == "submitted"
        number = page.locator("[data-testid=case-number]").inner_text().strip()
    case = Consultation.objects.unscoped("test").get(number=number)
    assert case.wanted_expert_id == team.expert.pk and case.wanted_start is not None

    # 2. Quality control finds it in the queue, ticks the checklist and accepts.
    with signed_in(browser, base, "qc") as page:
        page.click(f"[data-testid=queue-quality-check] [data-number='{number}']")
        page.click("[data-testid=action-review]")
        for box in page.locator("[data-testid^=check-check_]").all():
            box.check()
        page.click("[data-testid=qc-accept]")
        page.locator("[data-testid=queue-heading]").wait_for()

    # 3. The manager, on a phone, triages to the suggested expert and books the time the
    #    requester asked for, in a room at the province centre.
    with signed_in(browser, base, "manager", PHONE) as page:
        page.click(f"[data-testid=queue-triage] [data-number='{number}']")
        page.click("[data-testid=action-triage]")
        page.locator("[data-testid=suggestions]").wait_for()
        assert no_horizontal_overflow(page)
        page.check(f"[data-testid=suggestions] [data-testid=expert-{team.expert.pk}]")
        page.click("[data-testid=triage-submit]")
        page.locator("[data-testid=schedule-form]").wait_for()
        assert no_horizontal_overflow(page)
        screenshot(page, "schedule-phone.png")
        page.select_option("#id_room", str(team.room.pk))
        page.click("[data-testid=schedule-submit]")
        page.locator("[data-testid=case-number]").wait_for()
        assert state_on(page) == "scheduled", page.locator("main").inner_text()
        assert no_horizontal_overflow(page)

    # 4. The expert opens the case from the worklist, writes and signs the conclusion.
    with signed_in(browser, base, "dr_wang") as page:
        page.click(f"[data-testid=queue-worklist] [data-number='{number}']")
        page.click("[data-testid=action-conclude]")
        page.fill("#id_findings", "心电图ST段压低，肌钙蛋白阴性。")
        page.fill("#id_diagnosis", "不稳定型心绞痛")
        page.fill("#id_icd10_codes", "I20.0")
        page.fill("#id_recommendations", "建议冠脉造影，必要时转上级医院。")
        page.click("[data-testid=conclusion-sign]")
        page.locator("[data-testid=conclusions]").wait_for()
        assert state_on(page) == "concluded"

    # 5. The requester reads the signed conclusion, sees the signature holds, and the
    #    history lists every step.
    with signed_in(browser, base, "alice") as page:
        page.click(f"[data-testid=queue-requests] [data-number='{number}']")
        conclusion = page.locator("[data-testid=conclusion]")
        conclusion.wait_for()
        assert "不稳定型心绞痛" in conclusion.inner_text()
        holds = page.locator("[data-testid=signature-holds]")
        assert holds.get_attribute("data-holds") == "true"
        signed = case.conclusions.get()
        assert page.locator("[data-testid=signature-hash]").inner_text() == signed.text_sha256
        screenshot(page, "conclusion.png")
        page.click("[data-testid=history-link]")
        page.locator("[data-testid=history-heading]").wait_for()
        actions = [
            event.get_attribute("data-action")
            for event in page.locator("[data-testid=timeline] [data-testid=event]").all()
        ]
        assert actions == ["create", "submit", "qc_accept", "triage", "schedule", "conclude"]
        history = page.locator("[data-testid=timeline]").inner_text()
        for who in ("alice", "qc", "manager", "dr_wang医生"):
            assert who in history, who
    assert time.monotonic() - started < 60


def test_consultation_pages_fit_a_phone(browser, live_server, network, alice, no_second_factor):
    """Every consultation page, for each role on it, at 375 px: nothing wider than the screen."""
    from telemed.consultations import services
    from telemed.consultations.testing import advance, draft

    team = build_team(network, alice)
    returned = draft(team, patient_name="李建国", record="A-0002")
    services.submit(team.requester, returned.pk)
    services.quality_check(
        team.qc, returned.pk, accept=False, checklist={}, reasons="请补充心电图报告。" * 5
    )
    accepted = advance(
        team, draft(team, urgency="emergency", patient_name="王芳", record="A-0003"), "accepted"
    )
    assigned = advance(team, draft(team, patient_name="赵磊", record="A-0004"), "assigned")
    concluded = advance(
        team, draft(team, urgency="urgent", patient_name="陈静", record="A-0005"), "concluded"
    )
    services.post_message(team.requester, concluded.pk, "请问是否需要复查？" * 10)
    base = live_server.url
    visits = {
        "alice": [
            "/",
            "/consultations/",
            "/consultations/new/",
            f"/consultations/new/{returned.patient_id}/",
            f"/consultations/{returned.pk}/",
            f"/consultations/{returned.pk}/edit/",
            f"/consultations/{concluded.pk}/",
            f"/consultations/{concluded.pk}/history/",
        ],
        "qc": ["/", "/consultations/queues/quality-control/"],
        "manager": [
            "/",
            "/consultations/queues/triage/",
            f"/consultations/{accepted.pk}/triage/",
            f"/consultations/{assigned.pk}/schedule/",
            f"/consultations/{assigned.pk}/",
        ],
        "dr_wang": [
            "/",
            "/consultations/worklist/",
            f"/consultations/{assigned.pk}/conclusion/",
            f"/consultations/{concluded.pk}/amend/",
        ],
    }
    for username, paths in visits.items():
        with signed_in(browser, base, username, PHONE) as page:
            for path in paths:
                response = page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, (username, path)
                assert no_horizontal_overflow(page), (username, path)
                screenshot(
                    page, f"phone-{username}-{path.strip('/').replace('/', '-') or 'home'}.png"
                )
