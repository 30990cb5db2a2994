"""The caps on what one streamed message may hold (SAGE_LLM_MAX_*), in process.

The same caps over real HTTP, with a 100 MB answer and the server's memory
measured, are in tests/app/test_output_caps_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from sagents.agents.streaming import MAX_TOOL_CALLS
from sagents.events import (
    AgentNotice,
    EventBase,
    MessageCompleted,
    MessageDelta,
    ReasoningDelta,
    RunFinished,
    ToolArgsDelta,
    ToolResult,
)
from sagents.llm.structured import MAX_ANSWER_CHARS
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.settings import Settings
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.conftest import RuntimeFactory, make_settings

CAP = 1000


def simple(message: str) -> RunRequest:
    return RunRequest(message=message, deep_thinking=False, multi_agent=False)


async def collect(agent: SAgent, request: RunRequest) -> list[EventBase]:
    return [e async for e in agent.run_stream(request, "u1")]


def notices(events: list[EventBase]) -> list[str]:
    return [e.code for e in events if isinstance(e, AgentNotice)]


def capped(tmp_path: Path, **overrides: int) -> Settings:
    values = {
        "llm_max_answer_chars": CAP,
        "llm_max_reasoning_chars": CAP,
        "llm_max_tool_args_chars": CAP,
        **overrides,
    }
    return make_settings(tmp_path / "data", **values)


async def test_an_answer_past_the_cap_is_cut_marked_and_the_run_finishes(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    text = "".join(f"w{i:04d} " for i in range(1000))  # 6,000 characters
    rt = await make_runtime(ScriptedLLM([Turn(text=text)]), settings=capped(tmp_path))
    events = await collect(SAgent(rt), simple("talk"))

    streamed = "".join(e.delta for e in events if isinstance(e, MessageDelta))
    [completed] = [e for e in events if isinstance(e, MessageCompleted)]
    assert streamed == completed.content
    assert completed.content.startswith(text[:CAP])
    assert text[: CAP + 1] not in completed.content
    assert "[cut: this answer passed the limit of 1000 characters" in completed.content
    assert completed.interrupted
    assert notices(events) == ["output_truncated"]
    assert isinstance(events[-1], RunFinished) and events[-1].answer == completed.content

    stored = await rt.store.list_messages(events[0].session_id)
    assert stored[-1].content == completed.content and stored[-1].interrupted


async def test_an_answer_at_the_cap_exactly_is_whole(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    text = "x" * CAP
    rt = await make_runtime(ScriptedLLM([Turn(text=text)]), settings=capped(tmp_path))
    events = await collect(SAgent(rt), simple("talk"))
    [completed] = [e for e in events if isinstance(e, MessageCompleted)]
    assert completed.content == text and not completed.interrupted
    assert notices(events) == []


async def test_reasoning_past_the_cap_is_dropped_and_the_answer_still_read(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    reasoning = "think " * 1000  # 6,000 characters
    llm = ScriptedLLM([Turn(reasoning=reasoning, text="The answer is 42.")])
    rt = await make_runtime(llm, settings=capped(tmp_path))
    events = await collect(SAgent(rt), simple("why"))

    shown = "".join(e.delta for e in events if isinstance(e, ReasoningDelta))
    assert shown == reasoning[:CAP]
    assert notices(events) == ["reasoning_truncated"]
    [completed] = [e for e in events if isinstance(e, MessageCompleted)]
    assert completed.content == "The answer is 42." and not completed.interrupted
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "The answer is 42."


async def test_a_tool_call_with_arguments_past_the_cap_is_refused_not_run(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    seen: list[str] = []

    @tool
    def echo(text: str) -> str:
        """Echo the text."""
        seen.append(text)
        return text

    tools = ToolManager()
    tools.add(echo)
    llm = ScriptedLLM(
        [
            Turn(tool_calls=[ScriptedToolCall(name="echo", arguments={"text": "y" * 5000})]),
            Turn(text="Too long, sorry."),
        ]
    )
    rt = await make_runtime(llm, tools, settings=capped(tmp_path))
    events = await collect(SAgent(rt), simple("echo a lot"))

    assert seen == []  # the tool never ran
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert not result.ok and result.content.startswith("Not called")
    assert "1000 characters of arguments" in result.content
    assert notices(events) == ["tool_arguments_too_large"]
    # Argument deltas stop at the cap: the rest was not read.
    assert sum(len(e.delta) for e in events if isinstance(e, ToolArgsDelta)) <= CAP
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Too long, sorry."

    # The stored history is valid for the next request: the call is there
    # with empty arguments, and its result is the refusal.
    stored = await rt.store.list_messages(events[0].session_id)
    call_message = next(m for m in stored if m.tool_calls)
    assert call_message.interrupted
    assert call_message.tool_calls == [
        {
            "id": result.call_id,
            "type": "function",
            "function": {"name": "echo", "arguments": "{}"},
        }
    ]
    second = llm.requests[1].messages
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == result.call_id
    assert second[-1]["content"].startswith("Not called")


async def test_calls_before_the_one_past_the_cap_still_run(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    seen: list[int] = []

    @tool
    def note(n: int, pad: str = "") -> int:
        """Note a number."""
        seen.append(n)
        return n

    tools = ToolManager()
    tools.add(note)
    calls = [
        ScriptedToolCall(name="note", arguments={"n": 1}),
        ScriptedToolCall(name="note", arguments={"n": 2, "pad": "p" * 2000}),
    ]
    llm = ScriptedLLM([Turn(tool_calls=calls), Turn(text="done")])
    rt = await make_runtime(llm, tools, settings=capped(tmp_path))
    events = await collect(SAgent(rt), simple("note"))

    results = {e.call_id: e for e in events if isinstance(e, ToolResult)}
    assert seen == [1]
    assert [r.ok for r in results.values()].count(True) == 1
    assert [r.ok for r in results.values()].count(False) == 1
    assert isinstance(events[-1], RunFinished)


async def test_more_tool_calls_than_allowed_in_one_message_are_refused(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    seen: list[int] = []

    @tool
    def note(n: int) -> int:
        """Note a number."""
        seen.append(n)
        return n

    tools = ToolManager()
    tools.add(note)
    calls = [ScriptedToolCall(name="note", arguments={"n": i}) for i in range(MAX_TOOL_CALLS + 5)]
    llm = ScriptedLLM([Turn(tool_calls=calls), Turn(text="done")])
    rt = await make_runtime(llm, tools, settings=capped(tmp_path, llm_max_tool_args_chars=100_000))
    events = await collect(SAgent(rt), simple("note"))

    results = [e for e in events if isinstance(e, ToolResult)]
    assert sorted(seen) == list(range(MAX_TOOL_CALLS))
    assert len(results) == MAX_TOOL_CALLS + 1
    [refused] = [r for r in results if not r.ok]
    assert f"{MAX_TOOL_CALLS} tool calls per message" in refused.content
    assert notices(events) == ["tool_arguments_too_large"]
    assert isinstance(events[-1], RunFinished)
    # Every call in the stored message has a result: the history stays valid.
    stored = await rt.store.list_messages(events[0].session_id)
    call_ids = {c["id"] for m in stored if m.tool_calls for c in m.tool_calls}
    result_ids = {m.tool_call_id for m in stored if m.role == "tool"}
    assert call_ids == result_ids
    for message in stored:
        for call in message.tool_calls or []:
            json.loads(call["function"]["arguments"])


async def test_a_decision_past_its_cap_is_not_read_on_and_falls_back(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    # The router's JSON decision, padded far past MAX_ANSWER_CHARS.
    endless = '{"deep_thinking": false, "multi_agent": false, "reason": "' + "z" * 150_000
    llm = ScriptedLLM([Turn(role="router", text=endless), Turn(role="simple", text="Hi.")])
    rt = await make_runtime(llm, settings=capped(tmp_path))
    events = await collect(SAgent(rt), RunRequest(message="hello"))

    [notice] = [e for e in events if isinstance(e, AgentNotice)]
    assert notice.code == "decision_fallback"
    assert f"passed {MAX_ANSWER_CHARS} characters" in notice.message
    assert len(llm.requests_for("router")) == 1  # not repaired: the answer was not read
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Hi."
