"""The chat page in a real browser: a streamed Markdown answer, a tool call
with its result, model output that stays text, and failures said in words."""

from __future__ import annotations

import re

import httpx2
from playwright.sync_api import Page, expect

from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send, shot

ANSWER = (
    "Here is **bold** and `inline code`:\n\n"
    "```python\nprint('hi')\n```\n\n"
    "- first\n- second\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n"
)


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def test_streamed_answer_renders_markdown(page: Page, start_server: StartServer) -> None:
    # 0.15 s per token: the answer takes seconds, so its first words are on
    # the page while the run is still going.
    url = start_server([Turn(text=ANSWER, faults={"token_delay_s": 0.15})])
    open_app(page, url)
    expect(page.locator("#view-title")).to_have_text("New chat")
    send(page, "show me markdown")

    turn = page.locator(".turn").last
    expect(turn.locator(".bubble.user")).to_have_text("show me markdown")
    expect(page.locator("#cancel")).to_be_visible()
    # Streaming: part of the answer is shown before the run has finished.
    expect(page.locator(".turn:not(.finished) .answer")).to_contain_text("Here is")
    expect(turn).to_have_class(re.compile(r"\bfinished\b"))
    answer = turn.locator(".answer")
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator("p code")).to_have_text("inline code")
    expect(answer.locator("pre code.lang-python")).to_have_text("print('hi')")
    expect(answer.locator("ul li")).to_have_text(["first", "second"])
    expect(answer.locator("table td")).to_have_text(["1", "2"])
    expect(turn.locator(".usage")).to_contain_text("Tokens:")
    expect(page.locator("#cancel")).to_be_hidden()
    # The new session is listed, and the address names it (a reload lands here).
    expect(page.locator("#sessions li.current .session-title")).to_have_text("show me markdown")
    assert re.search(r"#/chat/ses_\w+$", page.url)


def test_tool_call_appears_with_result(page: Page, start_server: StartServer) -> None:
    tools = ToolManager()
    tools.add(word_count)
    url = start_server(
        [
            Turn(
                text="Counting. ",
                tool_calls=[ScriptedToolCall(name="word_count", arguments={"text": "a b c"})],
            ),
            Turn(text="There are **3** words."),
        ],
        tools=tools,
    )
    open_app(page, url)
    send(page, "how many words in 'a b c'?")

    turn = page.locator(".turn").last
    expect(turn).to_have_class(re.compile(r"\bfinished\b"))
    # The steps fold away once the answer is complete; one click opens them.
    expect(turn.locator(".steps")).not_to_have_attribute("open", "")
    turn.locator(".steps > summary").click()
    call = turn.locator(".step.tool")
    expect(call.locator(".tool-name")).to_have_text("word_count")
    expect(call.locator(".state")).to_contain_text("ok")
    # Nested under the agent that called it, and collapsed by default.
    expect(turn.locator(".step.agent .step.tool")).to_have_count(1)
    expect(call.locator("details")).not_to_have_attribute("open", "")
    expect(call.locator(".tool-result")).to_be_hidden()
    call.locator("summary").click()
    expect(call.locator(".tool-args")).to_contain_text('"text": "a b c"')
    expect(call.locator(".tool-result")).to_have_text("3")
    expect(turn.locator(".answer strong")).to_have_text("3")
    expect(turn.locator(".steps summary").first).to_contain_text("1 tool call")


def test_model_output_is_never_markup(page: Page, start_server: StartServer) -> None:
    hostile = (
        '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>\n\n'
        "[click me](javascript:window.pwned=3) [ok](https://example.org/a)\n\n"
        '```\n</code></pre><img src=y onerror="window.pwned=4">\n```\n'
    )
    url = start_server([Turn(text=hostile, reasoning="<b onmouseover=x>think</b>")])
    open_app(page, url)
    send(page, "be nasty")

    turn = page.locator(".turn").last
    expect(turn).to_have_class(re.compile(r"\bfinished\b"))
    answer = turn.locator(".answer")
    expect(answer).to_contain_text('<img src=x onerror="window.pwned=1">')
    expect(answer).to_contain_text("<script>window.pwned=2</script>")
    assert page.locator(".turn img, .turn script, .turn b").count() == 0
    # Only the safe link became a link; the javascript: one stayed text.
    links = answer.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a")
    expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(answer).to_contain_text("[click me](javascript:window.pwned=3)")
    expect(turn.locator(".step.reasoning summary")).to_contain_text("reasoning")
    assert page.evaluate("window.pwned") is None


def test_failed_run_is_said_in_words(page: Page, start_server: StartServer) -> None:
    url = start_server([Turn(text="never", faults={"http_status": 400})])
    open_app(page, url)
    send(page, "this will fail")
    status = page.locator(".turn .run-status")
    expect(status).to_contain_text("The run failed")
    expect(status).to_contain_text("HTTP 400")
    expect(page.locator("#sessions .pill")).to_have_text("error")


def test_page_is_served_with_a_strict_policy(start_server: StartServer) -> None:
    url = start_server()
    response = httpx2.get(url + "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    script = httpx2.get(url + "/web/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx2.get(url + "/web/nope.js").status_code == 404


def test_phone_width(page: Page, start_server: StartServer) -> None:
    url = start_server([Turn(text="Small screens work too.")])
    page.set_viewport_size({"width": 390, "height": 800})
    open_app(page, url)
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    send(page, "hello from a phone")
    expect(page.locator(".turn .answer")).to_have_text("Small screens work too.")
    shot(page, "test_phone_width-chat")
    page.click("#menu")
    expect(page.locator("#sidebar")).to_be_in_viewport()
    expect(page.locator("#sessions .session-title")).to_have_text("hello from a phone")
