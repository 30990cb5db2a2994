"""A third-party MCP server from PyPI (``mcp-server-time``, the reference time
server), configured through mcp_setting.json and called through a chat."""

from __future__ import annotations

import json
from pathlib import Path

from sagents.events import RunFinished, ToolResult
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools.mcp import McpStatus
from tests.conftest import RuntimeFactory, make_settings
from tests.tools.mcp.conftest import collect, simple, write_settings


async def test_mcp_server_time_over_stdio(make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    # A bare command, as a user would write it: found next to this Python.
    entry = {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}
    path = write_settings(tmp_path / "mcp_setting.json", {"time": entry})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    arguments = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
    llm = ScriptedLLM(
        [
            Turn(tool_calls=[ScriptedToolCall(name="convert_time", arguments=arguments)]),
            Turn(text="Noon UTC is 21:00 in Tokyo."),
        ]
    )
    rt = await make_runtime(llm, settings=settings)
    assert rt.mcp is not None
    info = rt.mcp.info("time")
    assert info.status is McpStatus.CONNECTED, info.last_error
    assert {"get_current_time", "convert_time"} <= set(info.tools)

    events = await collect(SAgent(rt), simple("What is noon UTC in Tokyo?"))

    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.ok, result.content
    converted = json.loads(result.content)
    assert converted["target"]["timezone"] == "Asia/Tokyo"
    assert converted["target"]["datetime"].endswith("T21:00:00+09:00")
    assert isinstance(events[-1], RunFinished)
