"""Browser fixtures: Debian's Chromium driven by Playwright, against the real
app under uvicorn and the mock LLM.

Playwright's own browser download is never used (``executable_path``). The
launch flags make headless Chromium work as root on a machine without a
network: no sandbox (root), and no background connections (updates, sync,
QUIC), which the closed network would refuse. Every test saves a screenshot
of the page as it ends under ``test-artifacts/screenshots/`` (kept by CI,
ignored by git), so what the tests saw can be looked at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 15_000
"""How long an expectation waits for the page: far above what the scripted
runs take, so only a broken page runs into it."""
expect.set_options(timeout=UI_TIMEOUT_MS)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium; dev.py does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text}")

    tab.on("console", on_console)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert not [e for e in errors if not expected_error(e)], errors


def expected_error(text: str) -> bool:
    """The browser logs every HTTP error status as a console error; the page
    handles those (and the tests check what it shows). Script errors remain."""
    return "Failed to load resource: the server responded with a status of" in text


def shot(page: Page, name: str) -> None:
    """A screenshot in the middle of a test (the fixture takes the last one)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_app(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.locator("#app").wait_for(state="visible")


def send(
    page: Page,
    text: str,
    *,
    deep: str = "off",
    multi: str = "off",
    suggest: bool = False,
    tools: bool = True,
) -> None:
    """Type a message with its options and send it with Enter, as a user would."""
    page.select_option("#opt-deep", deep)
    page.select_option("#opt-multi", multi)
    page.set_checked("#opt-suggest", suggest)
    page.set_checked("#opt-tools", tools)
    page.fill("#message", text)
    page.press("#message", "Enter")
