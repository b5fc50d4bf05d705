"""The operator pages in Chromium, in Chinese as an operator's browser asks: from the menu
to the dead letters, the retry button pressed, then a queued code mapped."""

from __future__ import annotations

import importlib

import pytest

from telemed.exchange.models import CodeMapping, DeliveryState, OutboundMessage
from telemed.testing import PASSWORD

# The browser tests' fixtures (one Chromium per session, skipped with a reason when it is
# missing), taken by name: that conftest sits beside tests outside this app.
_shared = importlib.import_module("tests.browser.conftest")
browser, page, no_second_factor = _shared.browser, _shared.page, _shared.no_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_retries_a_dead_letter_and_maps_a_code(
    page,
    live_server,
    no_second_factor,
    operator,
    dead_letter,
    queued,
):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=sign-in-submit]")
    page.get_by_role("link", name="数据交换").first.click()
    page.locator("[data-testid=outbox-heading]").wait_for()
    page.click("[data-testid=tab-dead]")
    page.locator(f"[data-testid=open-{dead_letter.pk}]").click()
    assert page.locator("[data-testid=attempt]").count() == 1
    page.go_back()
    page.check(f"[data-testid=choose-{dead_letter.pk}]")
    page.click("[data-testid=retry]")
    page.locator("[data-testid=messages]").wait_for()
    assert "1 条消息将重新投递。" in page.locator("[data-testid=messages]").inner_text()
    row = OutboundMessage.objects.unscoped("test").get(pk=dead_letter.pk)
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)

    page.click("[data-testid=tab-codes]")
    form = page.locator(f"[data-testid=map-form-{queued.pk}]")
    form.get_by_label("标准代码").fill("I10")
    form.get_by_label("标准名称").fill("原发性高血压")
    page.click(f"[data-testid=map-{queued.pk}]")
    page.locator("[data-testid=codes-empty]").wait_for()
    assert CodeMapping.objects.get().standard_code == "I10"
