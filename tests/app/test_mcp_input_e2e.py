"""An MCP server asks for input while its tool runs (elicitation): the
stream shows ``input.requested``; the answer, through the approvals
endpoint, reaches the server (checked against its schema first), and a
rejection declines."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx2

from sagents.events import ApprovalResolved, EventBase, InputRequested, ToolResult
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from tests.app.conftest import SIMPLE, StartServer, sse_events
from tests.tools.mcp.conftest import write_settings

ASK = Path(__file__).resolve().parents[1] / "tools" / "mcp" / "servers" / "ask.py"


def turns() -> list[Turn]:
    call = ScriptedToolCall(name="transfer", arguments={"to": "bob"}, id="call_i")
    return [Turn(tool_calls=[call]), Turn(text="Done.")]


async def run_answering(
    url: str, answers: list[dict[str, Any]]
) -> tuple[list[EventBase], list[httpx2.Response]]:
    events: list[EventBase] = []
    replies: list[httpx2.Response] = []
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        await wait_connected(http)
        body = {**SIMPLE, "message": "send bob money"}
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            events.append(event)
            if isinstance(event, InputRequested):
                path = (
                    f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}"
                    f"/approvals/{event.call_id}"
                )
                for answer in answers:
                    replies.append(await http.post(path, json=answer))
    return events, replies


async def wait_connected(http: httpx2.AsyncClient) -> None:
    for _ in range(300):
        tools = [t["name"] for t in (await http.get("/api/v1/tools")).json()]
        if "transfer" in tools:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the ask MCP server did not connect")


def start(start_server: StartServer, tmp_path: Path) -> str:
    settings = write_settings(
        tmp_path / "mcp.json", {"ask": {"command": sys.executable, "args": [str(ASK)]}}
    )
    return start_server(turns(), mcp_settings_path=settings, mcp_startup_wait_s=30.0)


async def test_the_answer_reaches_the_server(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    events, replies = await run_answering(
        start(start_server, tmp_path),
        [
            {"decision": "edit", "arguments": {"amount": "lots"}},
            {"decision": "edit", "arguments": {"amount": 7}},
        ],
    )
    asked = next(e for e in events if isinstance(e, InputRequested))
    assert asked.call_id == "call_i.input1" and asked.parent_call_id == "call_i"
    assert (asked.tool, asked.server) == ("transfer", "ask")
    assert asked.message == "How much should go to bob?"
    assert asked.requested_schema["properties"]["amount"]["type"] == "integer"
    assert [r.status_code for r in replies] == [422, 200], replies[0].text
    resolved = next(e for e in events if isinstance(e, ApprovalResolved))
    assert resolved.decision == "edit" and resolved.arguments == {"amount": 7}
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.ok and result.content == "sent 7 to bob"


async def test_a_rejection_declines(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    events, replies = await run_answering(
        start(start_server, tmp_path), [{"decision": "reject", "reason": "no"}]
    )
    assert [r.status_code for r in replies] == [200]
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.content == "nothing sent (decline)"
