"""Playwright against the system Chromium, one browser for the whole session.

Without Chromium (or the playwright package) the browser tests skip and say why; under CI
(env CI set) they fail instead, because there everything must be present.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from telemed.web.tests.catalog import ensure_compiled

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("TELEMED_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PC = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not at {CHROMIUM} (run `make system-deps` or set TELEMED_CHROMIUM)"
    return None


# The browser of the session, while it runs.
_RUNNING: list[Browser] = []


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ensure_compiled()
    # Playwright's sync API keeps an event loop in this thread, which makes Django refuse ORM
    # calls from the test body (setting up users) as if they came from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if _RUNNING:
        # Another module took this fixture by name (an app's own browser test): one sync
        # Playwright per process, since a second refuses to start beside the first's loop.
        yield _RUNNING[0]
        return
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            _RUNNING.append(launched)
            try:
                yield launched
            finally:
                _RUNNING.clear()
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    # zh-CN as a hospital's browser would send it: the pages must come up in Chinese.
    context = browser.new_context(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from _page(browser, PC)


@pytest.fixture
def phone(browser: Browser, live_server) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from _page(browser, PHONE)


@pytest.fixture
def no_second_factor(settings):  # type: ignore[no-untyped-def]
    settings.REQUIRE_SECOND_FACTOR = False


def screenshot(page: Page, name: str) -> None:
    """Keep a picture for a person to look at, when TELEMED_SCREENSHOTS names a folder."""
    folder = os.environ.get("TELEMED_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)
