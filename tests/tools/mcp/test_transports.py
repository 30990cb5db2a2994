"""The demo server over SSE and streamable HTTP (subprocesses on loopback)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sagents.events import EventBase, RunCancelled, RunFinished, ToolResult
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools.mcp import McpStatus, Transport
from tests.conftest import CANCEL_BOUND_S, RuntimeFactory, make_settings
from tests.tools.mcp.conftest import HttpDemo, collect, simple, write_settings


@pytest.mark.parametrize(
    ("kind", "transport"),
    [("sse", Transport.SSE), ("streamable-http", Transport.STREAMABLE_HTTP)],
)
async def test_chat_through_a_remote_server(
    make_runtime: RuntimeFactory,
    tmp_path: Path,
    http_demo: HttpDemo,
    kind: str,
    transport: Transport,
) -> None:
    url = http_demo(kind)
    # Headers are sent (the demo ignores them); transport given explicitly.
    entry = {"url": url, "transport": transport.value, "headers": {"X-Test": "1"}}
    path = write_settings(tmp_path / "mcp_setting.json", {"remote": entry})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    llm = ScriptedLLM(
        [
            Turn(tool_calls=[ScriptedToolCall(name="echo", arguments={"text": kind})]),
            Turn(text=f"The server said echo: {kind}."),
        ]
    )
    rt = await make_runtime(llm, settings=settings)
    assert rt.mcp is not None
    info = rt.mcp.info("remote")
    assert info.status is McpStatus.CONNECTED and info.transport is transport

    events = await collect(SAgent(rt), simple("echo"))

    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.ok and result.content == f"echo: {kind}"
    assert isinstance(events[-1], RunFinished) and kind in events[-1].answer


async def test_cancel_over_streamable_http_reaches_the_server(
    make_runtime: RuntimeFactory, tmp_path: Path, http_demo: HttpDemo
) -> None:
    url = http_demo("streamable-http")
    path = write_settings(tmp_path / "mcp_setting.json", {"remote": {"url": url}})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    marker = tmp_path / "cancelled.txt"
    call = ScriptedToolCall(name="slow", arguments={"marker": str(marker), "seconds": 10})
    rt = await make_runtime(ScriptedLLM([Turn(tool_calls=[call])]), settings=settings)
    agent = SAgent(rt)
    info = await agent.start(simple("go"), "u1")
    events: list[EventBase] = []
    cancelled_at = 0.0
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if event.type == "tool.called":
            await asyncio.sleep(0.3)
            cancelled_at = time.perf_counter()
            agent.cancel(info.run_id)
    assert isinstance(events[-1], RunCancelled)
    assert time.perf_counter() - cancelled_at < CANCEL_BOUND_S
    for _ in range(100):
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    assert marker.read_text() == "cancelled"
