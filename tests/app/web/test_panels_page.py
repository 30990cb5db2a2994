"""The read-only views: tools with their source, MCP servers, skills, and
memories, which can be forgotten."""

from __future__ import annotations

import time

import httpx2
from playwright.sync_api import Page, expect

from sagents.testing import Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app
from tests.conftest import BUNDLED_SKILLS


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def test_views_and_forgetting_a_memory(page: Page, start_server: StartServer) -> None:
    tools = ToolManager()
    tools.add(word_count)
    url = start_server(
        [
            Turn(role="simple", text="Noted, metric units from now on."),
            Turn(
                role="memory",
                json={"memories": [{"text": "Prefers metric units", "kind": "preference"}]},
            ),
        ],
        tools=tools,
        memory_extract=True,
        skills_bundled_dir=BUNDLED_SKILLS,
    )
    chat = httpx2.post(
        f"{url}/api/v1/chat",
        json={
            "message": "Use metric units.",
            "deep_thinking": False,
            "multi_agent": False,
            "available_skills": [],
        },
        timeout=10,
    )
    assert "run.finished" in chat.text
    for _ in range(200):  # the extractor runs after the answer
        if httpx2.get(f"{url}/api/v1/memory").json():
            break
        time.sleep(0.1)

    open_app(page, url)
    page.click("nav.views >> text=Tools")
    expect(page.locator("#view-title")).to_have_text("Tools")
    row = page.locator("#panel-view tr", has_text="word_count")
    expect(row).to_contain_text("Count the words in a text.")
    expect(row).to_contain_text("local")

    page.click("nav.views >> text=MCP servers")
    expect(page.locator("#panel-view")).to_contain_text("No MCP servers are configured.")

    page.click("nav.views >> text=Skills")
    expect(page.locator("#panel-view")).to_contain_text("Script sandbox:")
    expect(page.locator("#panel-view tbody tr").first).to_contain_text("bundled")

    page.click("nav.views >> text=Memories")
    memory = page.locator("#panel-view .memories li")
    expect(memory).to_contain_text("Prefers metric units")
    expect(memory).to_contain_text("preference")
    memory.locator(".forget").click()
    expect(page.locator("#panel-view")).to_contain_text("Sage remembers nothing about you yet.")
    assert httpx2.get(f"{url}/api/v1/memory").json() == []

    page.click("#new-chat")
    expect(page.locator("#chat-view")).to_be_visible()
    expect(page.locator("#panel-view")).to_be_hidden()


def test_a_view_that_fails_says_why(page: Page, start_server: StartServer) -> None:
    url = start_server(memory_enabled=False)
    open_app(page, url)
    page.click("nav.views >> text=Memories")
    expect(page.locator("#panel-view .error")).to_contain_text(
        "Could not load memories: long-term memory is disabled"
    )
