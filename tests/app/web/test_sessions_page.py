"""Sessions in the browser: switch between them, delete one, and sign in with
an API key to see only one's own sessions."""

from __future__ import annotations

import re

import httpx2
from playwright.sync_api import Page, expect

from sagents.testing import Turn
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send

KEYS = {"key-alice": "alice", "key-bob": "bob"}


def finished_turns(page: Page, count: int) -> None:
    expect(page.locator(".turn.finished")).to_have_count(count)


def test_switch_sessions(page: Page, start_server: StartServer) -> None:
    url = start_server(
        [Turn(text="Alpha answer."), Turn(text="Beta answer."), Turn(text="Alpha again.")]
    )
    open_app(page, url)
    send(page, "alpha question")
    finished_turns(page, 1)
    page.click("#new-chat")
    expect(page.locator(".turn")).to_have_count(0)
    send(page, "beta question")
    finished_turns(page, 1)
    titles = page.locator("#sessions .session-title")
    expect(titles).to_have_text(["beta question", "alpha question"])  # newest first

    page.click("#sessions >> text=alpha question")
    expect(page.locator(".turn .answer")).to_have_text(["Alpha answer."])
    expect(page.locator(".turn .bubble.user")).to_have_text(["alpha question"])
    # A follow-up continues the opened session, with its history shown above.
    send(page, "and again")
    finished_turns(page, 2)
    expect(page.locator(".turn .answer")).to_have_text(["Alpha answer.", "Alpha again."])
    expect(titles).to_have_text(["alpha question", "beta question"])

    page.click("#sessions >> text=beta question")
    expect(page.locator(".turn .answer")).to_have_text(["Beta answer."])
    # Delete asks once (the button turns into "Delete?"), then deletes.
    beta = page.locator("#sessions li", has_text="beta question")
    beta.locator(".delete").click()
    expect(beta.locator(".delete")).to_have_text("Delete?")
    beta.locator(".delete").click()
    expect(titles).to_have_text(["alpha question"])
    expect(page.locator("#view-title")).to_have_text("New chat")
    assert page.url.endswith("#/chat")


def test_sign_in_with_key_sees_only_own_sessions(page: Page, start_server: StartServer) -> None:
    url = start_server([Turn(text="Hello Bob."), Turn(text="Hello Alice.")], api_keys=KEYS)
    bob = httpx2.post(
        f"{url}/api/v1/chat",
        json={"message": "bob's secret plan", "deep_thinking": False, "multi_agent": False},
        headers={"Authorization": "Bearer key-bob"},
        timeout=10,
    )
    assert bob.status_code == 200 and "run.finished" in bob.text

    page.goto(url + "/")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    page.fill("#signin-key", "wrong-key")
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin-error")).to_have_text("That key was not accepted.")

    page.fill("#signin-key", "key-alice")
    page.click("#signin button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#sessions")).to_contain_text("No sessions yet.")
    expect(page.locator("#signout")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('sage.apiKey')") == "key-alice"

    send(page, "alice asks")
    expect(page.locator(".turn .answer")).to_have_text("Hello Alice.")
    expect(page.locator("#sessions .session-title")).to_have_text(["alice asks"])
    page.reload()  # the key survives a reload of the tab
    expect(page.locator("#sessions .session-title")).to_have_text(["alice asks"])
    expect(page.locator("#sessions")).not_to_contain_text("bob's secret plan")

    page.click("#signout")
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('sage.apiKey')") is None


def test_local_mode_needs_no_sign_in(page: Page, start_server: StartServer) -> None:
    url = start_server()
    open_app(page, url)
    expect(page.locator("#signin")).to_be_hidden()
    expect(page.locator("#signout")).to_be_hidden()
    assert re.search(r"/$", page.url)
