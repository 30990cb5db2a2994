"""The web page's approval card, in a real browser: an edit that does not
fit the tool shows the server's 422, a fitting edit runs the call with it;
Reject with a reason; every card closes when its call is decided."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send, shot
from tests.tools.mcp.conftest import write_settings


def pay_tools(paid: list[tuple[str, int]]) -> ToolManager:
    @tool(requires_approval=True)
    def pay(to: str, amount: int) -> str:
        """Pay someone."""
        paid.append((to, amount))
        return f"paid {amount} to {to}"

    tools = ToolManager()
    tools.add(pay)
    return tools


def turns(answer: str) -> list[Turn]:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_w")
    return [Turn(tool_calls=[call]), Turn(text=answer)]


def test_edit_from_the_page(page: Page, start_server: StartServer) -> None:
    paid: list[tuple[str, int]] = []
    url = start_server(turns("Paid carol."), tools=pay_tools(paid))
    open_app(page, url)
    send(page, "pay bob")
    card = page.locator(".approval")
    expect(card).to_contain_text("pay waits for your approval")
    expect(card.locator(".approval-args")).to_have_value('{\n  "to": "bob",\n  "amount": 5\n}')
    shot(page, "test_edit_from_the_page-waiting")
    card.locator(".approval-args").fill('{"to": "carol", "amount": "lots"}')
    card.locator("button.edit").click()
    expect(card.locator(".approval-error")).to_contain_text("'lots' is not of type 'integer'")
    card.locator(".approval-args").fill('{"to": "carol", "amount": 2}')
    card.locator("button.edit").click()
    expect(card.locator(".approval-state")).to_have_text("Edited by local.")
    expect(card.locator("button.approve")).to_be_disabled()
    expect(page.locator(".turn .answer")).to_have_text("Paid carol.")
    assert paid == [("carol", 2)]


def test_reject_from_the_page(page: Page, start_server: StartServer) -> None:
    paid: list[tuple[str, int]] = []
    url = start_server(turns("Not paid."), tools=pay_tools(paid))
    open_app(page, url)
    send(page, "pay bob")
    card = page.locator(".approval")
    card.locator(".approval-reason").fill("too much")
    card.locator("button.reject").click()
    expect(card.locator(".approval-state")).to_have_text("Rejected by local: too much.")
    expect(page.locator(".step.tool .tool-result")).to_contain_text("Reason: too much")
    expect(page.locator(".turn .answer")).to_have_text("Not paid.")
    assert paid == []


def test_an_mcp_servers_question_from_the_page(
    page: Page, start_server: StartServer, tmp_path: Path
) -> None:
    ask = Path(__file__).resolve().parents[2] / "tools" / "mcp" / "servers" / "ask.py"
    settings = write_settings(
        tmp_path / "mcp.json", {"ask": {"command": sys.executable, "args": [str(ask)]}}
    )
    call = ScriptedToolCall(name="transfer", arguments={"to": "bob"}, id="call_q")
    url = start_server(
        [Turn(tool_calls=[call]), Turn(text="Sent.")],
        mcp_settings_path=settings,
        mcp_startup_wait_s=30.0,
    )
    open_app(page, url)
    send(page, "send bob money")
    card = page.locator(".approval")
    expect(card.locator(".approval-title")).to_have_text("ask asks: How much should go to bob?")
    card.locator(".approval-args").fill('{"amount": 3}')
    card.locator("button.edit").click()
    expect(page.locator(".step.tool .tool-result")).to_have_text("sent 3 to bob")
    expect(page.locator(".turn .answer")).to_have_text("Sent.")
