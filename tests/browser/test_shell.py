"""The web shell in a real browser: sign-in per role, language, phone layout, sign-out."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest

from telemed.accounts.models import Role
from telemed.testing import PASSWORD, make_expert, make_user, register
from tests.browser.conftest import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ROLES = [role for role in Role if role != Role.SYSTEM]


def make_person(role: str, network) -> str:  # type: ignore[no-untyped-def]
    """A user of the role, placed as the demo places them; returns the username."""
    username = f"u-{role}"
    if role == Role.EXPERT:
        make_expert(username, network.province, network.cardiology)
    elif role in (Role.REQUESTING_DOCTOR, Role.PHARMACIST):
        make_user(username, role, network.county_a)
    elif role == Role.PATIENT:
        doctor = make_user("u-registrar", Role.REQUESTING_DOCTOR, network.county_a)
        record = register(doctor, "陈患者", "A-9000").patient
        make_user(username, role, network.county_a, patient=record)
    else:
        make_user(username, role, network.province)
    return username


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=sign-in-submit]")


def no_horizontal_overflow(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_out(page, live_server, network, no_second_factor, role):
    sign_in(page, live_server.url, make_person(role, network))
    heading = page.locator(f"[data-testid=home-{role}]")
    heading.wait_for()
    assert heading.inner_text().strip()
    page.click("[data-testid=sign-out]")
    page.locator("[data-testid=sign-in-heading]").wait_for()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def test_language_switch_changes_the_heading(page, live_server, alice, no_second_factor):
    sign_in(page, live_server.url, "alice")
    heading = page.locator("[data-testid=home-requesting_doctor]")
    assert heading.inner_text() == "申请医生工作台"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.click("[data-testid=lang-en]")
    page.wait_for_load_state()
    assert heading.inner_text() == "Requesting doctor's desk"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("[data-testid=lang-zh-hans]")
    page.wait_for_load_state()
    assert heading.inner_text() == "申请医生工作台"


def test_pc_layout(page, live_server, alice, alice_patient, no_second_factor):
    register(alice, "李建国", "A-0002")
    sign_in(page, live_server.url, "alice")
    page.locator("[data-testid=home-requesting_doctor]").wait_for()
    assert page.locator("[data-testid=nav-menu]").is_visible()
    assert not page.locator("[data-testid=nav-toggle]").is_visible()
    assert page.locator("[data-testid=whoami]").is_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "pc.png")


def test_phone_layout(phone, live_server, alice, alice_patient, no_second_factor):
    sign_in(phone, live_server.url, "alice")
    phone.locator("[data-testid=home-requesting_doctor]").wait_for()
    menu = phone.locator("[data-testid=nav-menu]")
    toggle = phone.locator("[data-testid=nav-toggle]")
    assert toggle.is_visible()
    assert not menu.is_visible()  # collapsed behind the toggle
    assert no_horizontal_overflow(phone)
    screenshot(phone, "phone.png")
    for path in ("/patients/", "/patients/new/", "/experts/", "/network/"):
        phone.goto(f"{live_server.url}{path}")
        assert no_horizontal_overflow(phone), path
    toggle.click()
    sign_out = phone.locator("[data-testid=sign-out]")
    sign_out.wait_for(state="visible")
    sign_out.click()
    phone.locator("[data-testid=sign-in-heading]").wait_for()


def test_live_search_updates_in_place(page, live_server, alice, alice_patient, no_second_factor):
    register(alice, "李建国", "A-0002")
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/patients/")
    results = page.locator("#patient-results")
    assert "李建国" in results.inner_text() and "张秀英" in results.inner_text()
    page.evaluate("window.__same_page = true")  # lost if the page reloads
    page.fill("[data-testid=patient-search]", "李")
    page.wait_for_function(
        "!document.querySelector('#patient-results').innerText.includes('张秀英')"
    )
    assert "李建国" in results.inner_text()
    assert page.evaluate("window.__same_page === true")
    assert "q=" in page.url  # the search is in the address, so it can be shared or reloaded


def test_expert_enrols_an_authenticator(page, live_server, network, settings):
    from django_otp.oath import totp

    settings.REQUIRE_SECOND_FACTOR = True
    make_expert("dr_li", network.province, network.cardiology)
    sign_in(page, live_server.url, "dr_li")
    page.locator("[data-testid=totp-qr] svg").wait_for()
    secret = page.locator("[data-testid=totp-secret]").inner_text().strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_token", f"{totp(key):06d}")
    page.click("[data-testid=second-factor-submit]")
    page.locator("[data-testid=home-expert]").wait_for()
