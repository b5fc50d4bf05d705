"""The message thread of a case is live: what the expert writes appears on the requesting
doctor's open case page without a reload (the bell's socket tells the page it is about)."""

from __future__ import annotations

import pytest

from telemed.consultations import services
from telemed.consultations.testing import advance, build_team, draft
from telemed.testing import PASSWORD, build_network, make_user
from tests.browser.conftest import PC
from tests.browser.test_board_live import asgi_server  # noqa: F401  (the uvicorn fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_message_reaches_the_other_side_live(browser, asgi_server, settings):  # noqa: F811
    settings.REQUIRE_SECOND_FACTOR = False
    network = build_network()
    alice = make_user("alice", "requesting_doctor", network.county_a)
    team = build_team(network, alice)
    case = advance(team, draft(team), "assigned")
    context = browser.new_context(locale="zh-CN", viewport=PC)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{asgi_server}/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("[data-testid=sign-in-submit]")
        page.locator("h1[data-testid^=home-]").wait_for()
        page.goto(f"{asgi_server}/consultations/{case.pk}/")
        thread = page.locator("[data-testid=thread]")
        thread.wait_for()
        page.wait_for_function(
            "document.querySelector('[data-testid=notification-bell]').dataset.unread !== undefined"
        )  # the bell's socket is open
        services.post_message(team.expert, case.pk, "请补充近期心电图。")
        page.locator("[data-testid=message]", has_text="请补充近期心电图。").wait_for()
        assert page.locator("[data-testid=message]").count() == 1
    finally:
        context.close()
