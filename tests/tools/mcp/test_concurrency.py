"""Twenty sessions sharing one stdio MCP server at the same time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from sagents.events import RunFinished, ToolResult
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from tests.conftest import make_settings
from tests.tools.mcp.conftest import collect, live_children, simple, stdio_entry, write_settings

SESSIONS = 20


async def test_twenty_concurrent_sessions_share_one_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = live_children()
    # Each call waits at the server until all twenty are in flight together,
    # so every session's first LLM turn is taken before any second one.
    calls = [
        Turn(
            tool_calls=[
                ScriptedToolCall(name="rendezvous", arguments={"text": f"s{i}", "expected": 20})
            ]
        )
        for i in range(SESSIONS)
    ]
    answers = [Turn(text="done") for _ in range(SESSIONS)]
    path = write_settings(tmp_path / "mcp_setting.json", {"demo": stdio_entry()})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    rt = await Runtime.create(settings, llm=ScriptedLLM([*calls, *answers]))
    try:
        agent = SAgent(rt)
        runs = await asyncio.gather(
            *(collect(agent, simple(f"session {i}"), user=f"user{i}") for i in range(SESSIONS))
        )
    finally:
        await rt.aclose()

    results = [e for events in runs for e in events if isinstance(e, ToolResult)]
    assert len(results) == SESSIONS and all(r.ok for r in results)
    assert {r.content for r in results} == {f"echo: s{i} (20 together)" for i in range(SESSIONS)}
    assert all(isinstance(events[-1], RunFinished) for events in runs)
    assert len({events[0].session_id for events in runs}) == SESSIONS
    assert not [r for r in caplog.records if "cancel scope" in r.getMessage().lower()]
    assert live_children() - before == set()
