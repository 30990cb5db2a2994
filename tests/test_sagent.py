"""SAgent in process with a ScriptedLLM: event order, persistence, cancel, failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from sagents.context.messages import CANCELLED_TOOL_RESULT
from sagents.events import EventBase, RunCancelled, RunFailed, RunFinished, ToolResult
from sagents.request import RunRequest
from sagents.runs.registry import SessionBusy
from sagents.sagent import SAgent, SessionNotFound, UnknownTools
from sagents.store.records import RunStatus, SessionStatus
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.conftest import CANCEL_BOUND_S, RuntimeFactory


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def simple(**fields: object) -> RunRequest:
    """A request for the simple path (the router is skipped: flags given)."""
    return RunRequest.model_validate({"deep_thinking": False, "multi_agent": False, **fields})


def tools_with(*specs: object) -> ToolManager:
    manager = ToolManager()
    for spec in specs:
        manager.add(spec)  # type: ignore[arg-type]
    return manager


async def collect(agent: SAgent, request: RunRequest, user: str = "u1") -> list[EventBase]:
    return [e async for e in agent.run_stream(request, user)]


def types(events: list[EventBase]) -> list[str]:
    return [e.type for e in events]


def compact(events: list[EventBase]) -> list[str]:
    """Event types with runs of deltas collapsed, for golden traces."""
    out: list[str] = []
    for t in types(events):
        if t.endswith(".delta") and out and out[-1] == t:
            continue
        out.append(t)
    return out


async def test_tool_turn_golden_trace_and_history(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(
                role="simple", tool_calls=[ScriptedToolCall(name="add", arguments={"a": 2, "b": 3})]
            ),
            Turn(role="simple", text="The sum is 5."),
        ]
    )
    rt = await make_runtime(llm, tools_with(add))
    events = await collect(SAgent(rt), simple(message="add 2 and 3"))

    assert compact(events) == [
        "run.started",
        "agent.started",
        "route.decided",
        "agent.finished",
        "agent.started",
        "tool.started",
        "tool.args.delta",
        "usage",
        "tool.called",
        "tool.result",
        "message.started",
        "message.delta",
        "usage",
        "message.completed",
        "agent.finished",
        "run.finished",
    ]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({(e.session_id, e.run_id) for e in events}) == 1
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.content == "5"
    final = events[-1]
    assert isinstance(final, RunFinished) and final.answer == "The sum is 5."

    # The second LLM call saw the tool call paired with its result.
    second = llm.requests[1].messages
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[3]["content"] == "5"
    stored = await rt.store.list_messages(events[0].session_id)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    run = await rt.store.get_run(events[0].session_id, events[0].run_id)
    assert run is not None and run.status is RunStatus.FINISHED and run.answer == "The sum is 5."


async def test_second_turn_continues_the_session(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM([Turn(text="Hi Ada."), Turn(text="You are Ada.")])
    rt = await make_runtime(llm)
    agent = SAgent(rt)
    first = await collect(agent, simple(message="I am Ada"))
    sid = first[0].session_id
    second = await collect(agent, simple(message="Who am I?", session_id=sid))
    assert isinstance(second[-1], RunFinished) and second[-1].answer == "You are Ada."
    sent = [m["content"] for m in llm.requests[1].messages[1:]]
    assert sent == ["I am Ada", "Hi Ada.", "Who am I?"]


async def test_unknown_session_and_other_users_session_are_not_found(
    make_runtime: RuntimeFactory,
) -> None:
    rt = await make_runtime(ScriptedLLM([Turn(text="ok")]))
    agent = SAgent(rt)
    events = await collect(agent, simple(message="hi"), user="alice")
    with pytest.raises(SessionNotFound):
        await agent.start(simple(message="x", session_id=events[0].session_id), "bob")
    with pytest.raises(SessionNotFound):
        await agent.start(simple(message="x", session_id="ses_nope"), "alice")


async def test_unknown_tool_names_are_refused_before_anything_runs(
    make_runtime: RuntimeFactory,
) -> None:
    rt = await make_runtime(ScriptedLLM([]), tools_with(add))
    with pytest.raises(UnknownTools, match="nope"):
        await SAgent(rt).start(simple(message="x", available_tools=["add", "nope"]), "u1")
    assert (await rt.store.list_sessions("u1"))[1] == 0


async def test_cancel_mid_tool_stops_the_tool_and_keeps_history_valid(
    make_runtime: RuntimeFactory,
) -> None:
    finished: list[bool] = []

    @tool
    async def slow() -> str:
        """Sleep for ten seconds."""
        await asyncio.sleep(10)
        finished.append(True)
        return "slept"

    llm = ScriptedLLM(
        [
            Turn(text="Working on it. ", tool_calls=[ScriptedToolCall(name="slow", arguments={})]),
            Turn(text="Fresh answer."),
        ]
    )
    rt = await make_runtime(llm, tools_with(slow))
    agent = SAgent(rt)
    info = await agent.start(simple(message="go"), "u1")
    events: list[EventBase] = []
    cancelled_at = 0.0
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if event.type == "tool.called":
            await asyncio.sleep(0.05)
            cancelled_at = time.perf_counter()
            assert agent.cancel(info.run_id, "test cancel")
    elapsed = time.perf_counter() - cancelled_at
    assert isinstance(events[-1], RunCancelled) and events[-1].reason == "test cancel"
    assert elapsed < CANCEL_BOUND_S
    assert types(events)[-2:] == ["agent.finished", "run.cancelled"]
    assert finished == []
    session = await rt.store.get_session("u1", info.session_id)
    assert session is not None and session.status is SessionStatus.INTERRUPTED

    # The next chat works and the LLM gets the call paired with a cancelled result.
    again = await collect(agent, simple(message="and now?", session_id=info.session_id))
    assert isinstance(again[-1], RunFinished)
    history = llm.requests[-1].messages
    tool_msg = next(m for m in history if m["role"] == "tool")
    assert tool_msg["content"] == CANCELLED_TOOL_RESULT
    assert finished == []


async def test_cancel_mid_stream_saves_partial_text(make_runtime: RuntimeFactory) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    llm = ScriptedLLM([Turn(text=words, faults={"token_delay_s": 0.01})])
    rt = await make_runtime(llm)
    agent = SAgent(rt)
    info = await agent.start(simple(message="go"), "u1")
    seen = 0
    async for event in rt.runs.subscribe(info.run_id):
        if event.type == "message.delta":
            seen += 1
            if seen == 5:
                agent.cancel(info.run_id)
    stored = await rt.store.list_messages(info.session_id)
    partial = stored[-1]
    assert partial.role == "assistant" and partial.interrupted
    assert partial.content is not None and partial.content.startswith("w0 w1 w2 w3 w4")
    assert len(partial.content) < len(words)
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert run is not None and run.status is RunStatus.CANCELLED


async def test_second_concurrent_run_on_a_session_is_refused(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM([Turn(text="a"), Turn(text="slow " * 50, faults={"token_delay_s": 0.01})])
    rt = await make_runtime(llm)
    agent = SAgent(rt)
    first = await collect(agent, simple(message="one"))
    sid = first[0].session_id
    info = await agent.start(simple(message="two", session_id=sid), "u1")
    with pytest.raises(SessionBusy):
        await agent.start(simple(message="three", session_id=sid), "u1")
    await rt.runs.wait(info.run_id)


async def test_llm_failure_becomes_run_failed(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM([Turn(text="one two three four", faults={"cut_after_chunks": 2})])
    rt = await make_runtime(llm)
    events = await collect(SAgent(rt), simple(message="hi"))
    final = events[-1]
    assert isinstance(final, RunFailed) and final.error_type == "LLMStreamBroken"
    assert [t for t in types(events) if t.startswith("run.")] == ["run.started", "run.failed"]
    assert "agent.finished" in types(events)


async def test_tool_error_is_a_result_not_a_crash(make_runtime: RuntimeFactory) -> None:
    @tool
    def boom() -> str:
        """Always fails."""
        raise RuntimeError("kaput")

    llm = ScriptedLLM(
        [Turn(tool_calls=[ScriptedToolCall(name="boom", arguments={})]), Turn(text="It failed.")]
    )
    rt = await make_runtime(llm, tools_with(boom))
    events = await collect(SAgent(rt), simple(message="x"))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "kaput" in result.content
    assert isinstance(events[-1], RunFinished)


async def test_loop_limit_is_stated_in_the_answer(make_runtime: RuntimeFactory) -> None:
    call = Turn(tool_calls=[ScriptedToolCall(name="add", arguments={"a": 1, "b": 1})])
    llm = ScriptedLLM([call, call, call])
    rt = await make_runtime(llm, tools_with(add))
    events = await collect(SAgent(rt), simple(message="loop", max_loop_count=2))
    final = events[-1]
    assert isinstance(final, RunFinished) and "max_loop_count" in final.answer
    assert "agent.notice" in types(events)
    assert len(llm.requests) == 2


async def test_concurrent_tool_calls_run_in_parallel(make_runtime: RuntimeFactory) -> None:
    active = 0
    peak = 0

    @tool
    async def nap(seconds: float) -> str:
        """Sleep a little."""
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(seconds)
        active -= 1
        return f"napped {seconds}"

    calls = [ScriptedToolCall(name="nap", arguments={"seconds": 0.1}) for _ in range(3)]
    llm = ScriptedLLM([Turn(tool_calls=calls), Turn(text="rested")])
    rt = await make_runtime(llm, tools_with(nap))
    events = await collect(SAgent(rt), simple(message="x"))
    assert peak == 3
    assert sum(isinstance(e, ToolResult) for e in events) == 3
    assert isinstance(events[-1], RunFinished)
