"""A real MCP server over stdio, driven through chats with a ScriptedLLM."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil

from sagents.events import EventBase, RunCancelled, RunFinished, ToolResult
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolSource, tool
from sagents.tools.mcp import McpStatus
from tests.conftest import CANCEL_BOUND_S, RuntimeFactory, make_settings
from tests.tools.mcp.conftest import (
    collect,
    live_children,
    simple,
    stdio_entry,
    write_settings,
)


def call(name: str, **arguments: object) -> Turn:
    return Turn(tool_calls=[ScriptedToolCall(name=name, arguments=arguments)])


def results(events: list[EventBase]) -> list[ToolResult]:
    return [e for e in events if isinstance(e, ToolResult)]


async def demo_runtime(
    make_runtime: RuntimeFactory, tmp_path: Path, llm: ScriptedLLM, **settings: object
) -> Runtime:
    path = write_settings(tmp_path / "mcp_setting.json", {"demo": stdio_entry()})
    values = {"mcp_settings_path": path, "mcp_startup_wait_s": 30.0, **settings}
    rt = await make_runtime(llm, settings=make_settings(tmp_path / "data", **values))
    assert rt.mcp is not None and rt.mcp.info("demo").status is McpStatus.CONNECTED
    return rt


async def test_a_chat_calls_an_mcp_tool_and_uses_the_result(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM([call("add", a=20, b=22), Turn(text="It is 42.")])
    rt = await demo_runtime(make_runtime, tmp_path, llm)
    spec = rt.tools.get("add")
    assert spec is not None and spec.source is ToolSource.MCP and spec.origin == "demo"

    events = await collect(SAgent(rt), simple("20 + 22?"))

    [result] = results(events)
    assert result.ok and result.content == "42"
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "It is 42."
    sent = llm.requests[1].messages[-1]
    assert sent["role"] == "tool" and sent["content"] == "42"


async def test_mcp_beats_a_local_tool_of_the_same_name(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    @tool
    def echo(text: str) -> str:
        """Local echo."""
        return f"local: {text}"

    from sagents.tools import ToolManager

    manager = ToolManager()
    manager.add(echo)
    path = write_settings(tmp_path / "mcp_setting.json", {"demo": stdio_entry()})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    llm = ScriptedLLM([call("echo", text="hi"), Turn(text="done")])
    rt = await make_runtime(llm, manager, settings=settings)

    events = await collect(SAgent(rt), simple("echo hi"))

    assert results(events)[0].content == "echo: hi"
    assert [s.source for s in rt.tools.shadowed("echo")] == [ToolSource.LOCAL]


async def test_a_tool_error_is_a_failed_result_not_a_failed_run(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM([call("fail", message="disk on fire"), Turn(text="It failed.")])
    rt = await demo_runtime(make_runtime, tmp_path, llm)

    events = await collect(SAgent(rt), simple("try"))

    [result] = results(events)
    assert not result.ok and "disk on fire" in result.content and "'demo'" in result.content
    assert isinstance(events[-1], RunFinished)


async def test_results_over_the_cap_are_cut_and_say_so(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM([call("echo", text="x" * 500), Turn(text="ok")])
    rt = await demo_runtime(make_runtime, tmp_path, llm, tool_max_result_chars=100)

    events = await collect(SAgent(rt), simple("long"))

    content = results(events)[0].content
    assert content.startswith("echo: xxx") and "[truncated: 100 of 506 characters shown]" in content


async def test_cancel_during_a_slow_mcp_tool_reaches_the_server(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelled.txt"
    llm = ScriptedLLM([call("slow", marker=str(marker), seconds=10)])
    rt = await demo_runtime(make_runtime, tmp_path, llm)
    agent = SAgent(rt)
    info = await agent.start(simple("go"), "u1")
    events: list[EventBase] = []
    cancelled_at = 0.0
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if event.type == "tool.called":
            await asyncio.sleep(0.3)  # let the request reach the server
            cancelled_at = time.perf_counter()
            assert agent.cancel(info.run_id, "user stop")
    elapsed = time.perf_counter() - cancelled_at

    assert isinstance(events[-1], RunCancelled) and elapsed < CANCEL_BOUND_S
    # The server's handler saw its call cancelled (it writes the marker then).
    for _ in range(100):
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    assert marker.read_text() == "cancelled"


async def test_a_killed_server_fails_one_call_then_reconnects(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM(
        [
            call("pid"),
            Turn(text="got pid"),
            call("add", a=1, b=2),
            Turn(text="that failed"),
            call("add", a=1, b=2),
            Turn(text="3"),
        ]
    )
    rt = await demo_runtime(make_runtime, tmp_path, llm)
    agent = SAgent(rt)
    first = await collect(agent, simple("pid?"))
    pid = int(results(first)[0].content)
    server = psutil.Process(pid)  # before the kill: it may be reaped at once
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(server.wait, 10)
    session = first[0].session_id

    second = await collect(agent, simple("add", session_id=session))
    [failed] = results(second)
    assert not failed.ok and "not reachable" in failed.content and "reconnected" in failed.content
    assert rt.mcp is not None and rt.mcp.info("demo").status is McpStatus.ERROR

    third = await collect(agent, simple("again", session_id=session))
    [ok] = results(third)
    assert ok.ok and ok.content == "3"
    assert rt.mcp.info("demo").status is McpStatus.CONNECTED


async def test_tools_list_changed_refreshes_the_registered_tools(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    rt = await demo_runtime(make_runtime, tmp_path, ScriptedLLM([]))
    proxy = rt.tools.proxy()
    outcome = await proxy.call("grow", {"name": "newt"}, timeout_s=10)
    assert outcome.ok, outcome.content
    for _ in range(100):
        if "newt" in rt.tools:
            break
        await asyncio.sleep(0.05)
    assert "newt" in proxy.names
    assert (await proxy.call("newt", {}, timeout_s=10)).content == "newt says hi"


async def test_shutdown_leaves_no_child_process(tmp_path: Path) -> None:
    before = live_children()
    path = write_settings(tmp_path / "mcp_setting.json", {"a": stdio_entry(), "b": stdio_entry()})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    rt = await Runtime.create(settings, llm=ScriptedLLM([]))
    try:
        assert rt.mcp is not None
        assert {i.status for i in rt.mcp.list()} == {McpStatus.CONNECTED}
        assert len(live_children() - before) == 2
    finally:
        await rt.aclose()

    assert live_children() - before == set()
    assert "add" not in rt.tools
