"""Two real MCP servers with the same tool names: prefixes let them coexist,
and without prefixes the shadowing is reported on both sides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sagents.events import ToolCalled, ToolResult
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools.mcp import McpServerEntry, ToolClash
from tests.conftest import RuntimeFactory, make_settings
from tests.tools.mcp.conftest import collect, simple, stdio_entry, write_settings


async def runtime_with(
    make_runtime: RuntimeFactory,
    tmp_path: Path,
    servers: dict[str, Any],
    llm: ScriptedLLM | None = None,
    **overrides: Any,
) -> Runtime:
    path = write_settings(tmp_path / "mcp_setting.json", servers)
    settings = make_settings(
        tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0, **overrides
    )
    return await make_runtime(llm or ScriptedLLM([]), settings=settings)


async def test_without_prefixes_the_shadowing_is_shown_on_both_sides(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    rt = await runtime_with(make_runtime, tmp_path, {"a": stdio_entry(), "b": stdio_entry()})
    assert rt.mcp is not None
    a, b = rt.mcp.info("a"), rt.mcp.info("b")
    owner, other = (a, b) if a.tools else (b, a)
    assert other.tools == [] and other.status.value == "connected"
    assert ToolClash("add", owner.name) in other.shadowed
    assert {c.tool for c in other.shadowed} == set(owner.tools)
    assert {c.server for c in other.shadowed} == {owner.name}
    assert ToolClash("add", other.name) in owner.shadows and owner.shadowed == []
    assert other.notice is not None
    assert f"held by {owner.name!r}" in other.notice and '"prefix"' in other.notice
    assert owner.notice is None


async def test_prefixes_let_clashing_servers_coexist(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM(
        [
            Turn(
                tool_calls=[
                    ScriptedToolCall(name="a_pid", arguments={}),
                    ScriptedToolCall(name="b_pid", arguments={}),
                    ScriptedToolCall(name="b_add", arguments={"a": 2, "b": 40}),
                ]
            ),
            Turn(text="done"),
        ]
    )
    servers = {"a": stdio_entry(prefix="a"), "b": stdio_entry(prefix="b")}
    rt = await runtime_with(make_runtime, tmp_path, servers, llm)
    assert rt.mcp is not None
    a, b = rt.mcp.info("a"), rt.mcp.info("b")
    assert "a_add" in a.tools and "b_add" in b.tools
    assert a.shadowed == b.shadowed == [] and a.prefix == "a"
    assert rt.tools.get("add") is None
    spec = rt.tools.get("b_add")
    assert spec is not None and spec.origin == "b"

    events = await collect(SAgent(rt), simple("which pids?"))
    tools = {e.call_id: e.tool for e in events if isinstance(e, ToolCalled)}
    results = {tools[e.call_id]: e for e in events if isinstance(e, ToolResult)}
    assert all(r.ok for r in results.values()), results
    assert results["a_pid"].content != results["b_pid"].content  # two processes answered
    assert results["b_add"].content == "42"  # the server got its own tool name back


async def test_the_server_name_as_default_prefix_and_opting_out(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    servers = {"one": stdio_entry(), "two.x": stdio_entry(), "bare": stdio_entry(prefix="")}
    rt = await runtime_with(make_runtime, tmp_path, servers, mcp_tool_prefix="server")
    assert rt.mcp is not None
    assert "one_add" in rt.mcp.info("one").tools
    assert "two_x_add" in rt.mcp.info("two.x").tools
    bare = rt.mcp.info("bare")
    assert "add" in bare.tools and bare.prefix == ""
    assert all(info.shadowed == [] for info in rt.mcp.list())


def test_a_prefix_must_fit_in_a_tool_name() -> None:
    with pytest.raises(ValidationError, match="prefix"):
        McpServerEntry.model_validate({**stdio_entry(), "prefix": "has space"})
    with pytest.raises(ValidationError, match="prefix"):
        McpServerEntry.model_validate({**stdio_entry(), "prefix": "x" * 33})
