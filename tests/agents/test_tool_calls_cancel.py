"""A run cancelled while several of its tool calls run at once: every running
tool is interrupted, every call gets a result, and the run ends once."""

from __future__ import annotations

import asyncio
import time

from sagents.context.messages import CANCELLED_TOOL_RESULT
from sagents.events import EventBase, RunCancelled, ToolResult, is_terminal
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.conftest import CANCEL_BOUND_S, RuntimeFactory

SLOW = 3


async def test_cancel_with_several_tools_running_interrupts_each_and_pairs_every_call(
    make_runtime: RuntimeFactory,
) -> None:
    started: list[int] = []
    interrupted: list[int] = []
    completed: list[int] = []
    all_started = asyncio.Event()

    @tool
    async def slow(n: int) -> str:
        """Work for ten seconds."""
        started.append(n)
        if len(started) == SLOW:
            all_started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            interrupted.append(n)
            raise
        completed.append(n)
        return "slept"

    @tool
    def quick() -> str:
        """Answer at once."""
        return "quick answer"

    tools = ToolManager()
    tools.add(slow)
    tools.add(quick)
    calls = [ScriptedToolCall(name="slow", arguments={"n": n}) for n in range(SLOW)]
    calls.append(ScriptedToolCall(name="quick"))
    llm = ScriptedLLM([Turn(tool_calls=calls), Turn(text="Next answer.")])
    rt = await make_runtime(llm, tools)
    agent = SAgent(rt)
    info = await agent.start(RunRequest(message="go", deep_thinking=False, multi_agent=False), "u1")

    events: list[EventBase] = []
    cancelled_at = 0.0
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if isinstance(event, ToolResult) and event.tool == "quick":
            await asyncio.wait_for(all_started.wait(), 5)
            cancelled_at = time.perf_counter()
            assert agent.cancel(info.run_id, "stop all")
    elapsed = time.perf_counter() - cancelled_at

    # One terminal event, the cancellation, and it came without waiting for the tools.
    assert [e.type for e in events if is_terminal(e)] == ["run.cancelled"]
    assert isinstance(events[-1], RunCancelled) and events[-1].reason == "stop all"
    assert elapsed < CANCEL_BOUND_S
    # Each running tool was really interrupted, none ran to its end.
    assert sorted(interrupted) == list(range(SLOW)) and completed == []

    # Every call has exactly one result: the quick one its own, the others "cancelled".
    stored = await rt.store.list_messages(info.session_id)
    [call_message] = [m for m in stored if m.tool_calls]
    call_ids = [c["id"] for c in call_message.tool_calls or []]
    results = {m.tool_call_id: m for m in stored if m.role == "tool"}
    assert sorted(results) == sorted(call_ids)
    assert len([m for m in stored if m.role == "tool"]) == len(call_ids)
    by_name = {results[c["id"]].name: [] for c in call_message.tool_calls or []}
    for message in results.values():
        by_name[message.name].append(message)
    assert [m.content for m in by_name["quick"]] == ["quick answer"]
    assert [m.content for m in by_name["slow"]] == [CANCELLED_TOOL_RESULT] * SLOW
    assert all(m.interrupted for m in by_name["slow"])

    # The next request sends the LLM a history where every call is answered.
    again = [
        e
        async for e in agent.run_stream(
            RunRequest(
                message="and now?",
                session_id=info.session_id,
                deep_thinking=False,
                multi_agent=False,
            ),
            "u1",
        )
    ]
    assert again[-1].type == "run.finished"
    sent = llm.requests[-1].messages
    answered = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
    assert answered == set(call_ids)
    await asyncio.sleep(0)
    assert completed == []


CLEANUP_S = 0.5
"""How long each cancelled tool takes to clean up (a subprocess to reap, an
MCP request to withdraw): long enough that a run which did not wait for the
clean-up would have ended first."""


async def test_the_run_ends_only_after_every_cancelled_tool_has_cleaned_up(
    make_runtime: RuntimeFactory,
) -> None:
    started: list[int] = []
    cleaned: list[int] = []
    all_started = asyncio.Event()

    @tool
    async def holds_a_resource(n: int) -> str:
        """Hold something that must be released."""
        started.append(n)
        if len(started) == SLOW:
            all_started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(CLEANUP_S)  # releasing it takes a while
            cleaned.append(n)
            raise
        return "done"

    tools = ToolManager()
    tools.add(holds_a_resource)
    calls = [ScriptedToolCall(name="holds_a_resource", arguments={"n": n}) for n in range(SLOW)]
    rt = await make_runtime(ScriptedLLM([Turn(tool_calls=calls)]), tools)
    agent = SAgent(rt)
    info = await agent.start(RunRequest(message="go", deep_thinking=False, multi_agent=False), "u1")

    cleaned_at_end: list[int] = []
    async for event in rt.runs.subscribe(info.run_id):
        if event.type == "tool.called" and not all_started.is_set():
            await asyncio.wait_for(all_started.wait(), 5)
            assert agent.cancel(info.run_id, "stop")
        if is_terminal(event):
            cleaned_at_end = list(cleaned)
            assert isinstance(event, RunCancelled)
    # Every tool saw the cancellation and had finished releasing what it held
    # when the run said it was over.
    assert sorted(cleaned_at_end) == list(range(SLOW))
