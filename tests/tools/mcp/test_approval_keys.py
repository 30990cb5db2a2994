"""``requires_approval`` in ``mcp_setting.json``: for every tool of a server,
or for some of its tools by their own names; a call of such a tool over a
real MCP server waits for the decision. And the setting that makes skill
scripts wait too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sagents.events import ApprovalRequested, ApprovalResolved, EventBase, ToolResult
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools.mcp import McpServerEntry
from tests.conftest import RuntimeFactory, make_settings
from tests.tools.mcp.conftest import simple, stdio_entry, write_settings


async def runtime_with(
    make_runtime: RuntimeFactory, tmp_path: Path, servers: dict[str, Any], llm: ScriptedLLM
) -> Runtime:
    path = write_settings(tmp_path / "mcp_setting.json", servers)
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    return await make_runtime(llm, settings=settings)


async def decide_each(
    rt: Runtime, agent: SAgent, llm_request: Any, decision: str, **extra: Any
) -> list[EventBase]:
    """Run; approve (or ``decision``) each call that asks, as a person would."""
    events: list[EventBase] = []
    async for event in agent.run_stream(llm_request, "u1"):
        events.append(event)
        if isinstance(event, ApprovalRequested):
            decided = await rt.approvals.decide(
                event.run_id, event.call_id, decision, by="u1", **extra
            )  # type: ignore[arg-type]
            assert decided is not None
    return events


def test_the_key_takes_true_or_tool_names_and_round_trips() -> None:
    everything = McpServerEntry.model_validate({"command": "x", "requires_approval": True})
    some = McpServerEntry.model_validate({"command": "x", "requires_approval": ["add"]})
    nothing = McpServerEntry.model_validate({"command": "x"})
    assert everything.approval_needed("add") and everything.approval_needed("pid")
    assert some.approval_needed("add") and not some.approval_needed("pid")
    assert not nothing.approval_needed("add")
    assert some.to_json()["requires_approval"] == ["add"]
    assert "requires_approval" not in nothing.to_json()
    with pytest.raises(ValidationError, match="requires_approval"):
        McpServerEntry.model_validate({"command": "x", "requires_approval": "yes"})


async def test_per_server_and_per_tool_approval_over_a_real_server(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM(
        [
            Turn(
                tool_calls=[
                    ScriptedToolCall(name="a_add", arguments={"a": 2, "b": 3}, id="c_add"),
                    ScriptedToolCall(name="a_pid", arguments={}, id="c_pid"),
                ]
            ),
            Turn(text="done"),
        ]
    )
    servers = {
        "a": stdio_entry(prefix="a", requires_approval=["add"]),
        "b": stdio_entry(prefix="b", requires_approval=True),
    }
    rt = await runtime_with(make_runtime, tmp_path, servers, llm)
    assert rt.mcp is not None
    flagged = {s.name for s in rt.tools.list() if s.requires_approval}
    assert "a_add" in flagged and "a_pid" not in flagged
    assert {n for n in rt.mcp.info("b").tools} <= flagged

    events = await asyncio.wait_for(
        decide_each(rt, SAgent(rt), simple("add"), "edit", arguments={"a": 40, "b": 2}), 60
    )
    asked = [e for e in events if isinstance(e, ApprovalRequested)]
    assert [(e.call_id, e.tool) for e in asked] == [("c_add", "a_add")]
    assert "MCP server 'a'" in asked[0].reason
    results = {e.call_id: e for e in events if isinstance(e, ToolResult)}
    assert results["c_add"].ok and results["c_add"].content == "42"
    assert results["c_pid"].ok  # ran unasked


async def test_skill_scripts_wait_when_the_setting_says_so(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    call = ScriptedToolCall(
        name="run_skill_script", arguments={"name": "any", "script": "x.py"}, id="c_s"
    )
    for required in (True, False):
        llm = ScriptedLLM([Turn(tool_calls=[call]), Turn(text="ok")])
        settings = make_settings(
            tmp_path / f"data-{required}", skill_scripts_require_approval=required
        )
        rt = await make_runtime(llm, settings=settings)
        events = await asyncio.wait_for(
            decide_each(rt, SAgent(rt), simple("run it"), "reject", reason="not now"), 60
        )
        asked = [e for e in events if isinstance(e, ApprovalRequested)]
        resolved = [e for e in events if isinstance(e, ApprovalResolved)]
        [result] = [e for e in events if isinstance(e, ToolResult)]
        if required:
            assert len(asked) == 1 and "SAGE_SKILL_SCRIPTS_REQUIRE_APPROVAL" in asked[0].reason
            assert resolved[0].decision == "reject" and resolved[0].reason == "not now"
            assert "rejected" in result.content and "not now" in result.content
        else:
            assert asked == [] and "rejected" not in result.content
