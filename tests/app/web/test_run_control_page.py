"""Cancel mid-tool and resume after a reload, in a real browser."""

from __future__ import annotations

import asyncio
import re

import httpx2
from playwright.sync_api import Page, Request, Route, expect

from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send, shot
from tests.conftest import CANCEL_BOUND_S


def test_cancel_mid_tool(page: Page, start_server: StartServer) -> None:
    finished: list[bool] = []

    @tool
    async def slow_lookup(query: str) -> str:
        """Look something up, slowly."""
        await asyncio.sleep(10)
        finished.append(True)
        return "found"

    tools = ToolManager()
    tools.add(slow_lookup)
    url = start_server(
        [
            Turn(
                text="Looking. ",
                tool_calls=[ScriptedToolCall(name="slow_lookup", arguments={"query": "x"})],
            )
        ],
        tools=tools,
    )
    open_app(page, url)
    send(page, "look up x")
    call = page.locator(".step.tool.running")
    expect(call.locator(".tool-name")).to_have_text("slow_lookup")
    shot(page, "test_cancel_mid_tool-running")
    page.click("#cancel")
    # Far sooner than the tool's 10 s: the cancel interrupted it.
    status = page.locator(".turn .run-status")
    expect(status).to_have_text("Cancelled: cancelled by the user", timeout=CANCEL_BOUND_S * 1000)
    expect(page.locator(".step.agent.status-cancelled")).to_have_count(1)
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#sessions .pill")).to_have_text("interrupted")
    assert finished == []


def test_reload_mid_run_resumes(page: Page, start_server: StartServer) -> None:
    words = " ".join(f"w{i}" for i in range(60))  # 0.1 s a word: 6 s of streaming
    url = start_server([Turn(text=words, faults={"token_delay_s": 0.1})])
    open_app(page, url)
    send(page, "count slowly")
    answer = page.locator(".turn .answer")
    expect(answer).to_contain_text("w5 ")
    assert re.search(r"#/chat/ses_\w+$", page.url)
    sid = page.url.rsplit("/", 1)[1]

    page.reload()
    # The page reopens the session, sees its run still going and follows it
    # from the first event (Last-Event-ID 0), then live to the end.
    expect(page.locator(".turn")).to_have_count(1)
    expect(page.locator(".turn .bubble.user")).to_have_text("count slowly")
    expect(page.locator("#cancel")).to_be_visible()
    expect(page.locator(".turn:not(.finished) .answer")).to_contain_text("w0 w1")
    expect(page.locator(".turn")).to_have_class(re.compile(r"\bfinished\b"))
    expect(answer).to_have_text(words)
    # The reload did not cancel the run: it finished, with the whole answer.
    detail = httpx2.get(f"{url}/api/v1/sessions/{sid}").json()
    assert detail["status"] == "completed"
    assert detail["runs"][0]["answer"] == words


def test_dropped_stream_resumes_where_it_stopped(page: Page, start_server: StartServer) -> None:
    """The chat stream ends after its first event (as when a proxy or the
    network drops it): the page asks for the events after the last one it saw
    and the answer comes out whole, each word once. (The interception reads
    the whole response before cutting it, so here the run has finished by
    then; the reload test covers joining a run that is still going.)"""
    words = " ".join(f"w{i}" for i in range(40))
    url = start_server([Turn(text=words, faults={"token_delay_s": 0.02})])
    resumed: list[str] = []

    def cut_chat(route: Route) -> None:
        # The POST reaches the server; the page gets only its first frame.
        response = route.fetch()
        first_frame = response.body().split(b"\r\n\r\n")[0] + b"\r\n\r\n"
        route.fulfill(response=response, body=first_frame)

    page.route("**/api/v1/chat", cut_chat)

    def on_request(request: Request) -> None:
        if "/events" in request.url:
            resumed.append(request.headers.get("last-event-id", ""))

    page.on("request", on_request)
    open_app(page, url)
    send(page, "count")
    expect(page.locator(".turn")).to_have_class(re.compile(r"\bfinished\b"))
    expect(page.locator(".turn .answer")).to_have_text(words)
    assert resumed and resumed[0] == "1"  # only run.started arrived before the cut
