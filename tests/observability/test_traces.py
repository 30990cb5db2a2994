"""The span tree of real runs (ScriptedLLM), read from the SDK's in-memory
exporter: names, parent links and the GenAI attributes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode, format_trace_id

from sagents.events import EventBase
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.testing.script import Faults
from sagents.tools import ToolManager, tool
from tests.observability.conftest import Traced, TracedFactory
from tests.observability.test_metrics import points, value
from tests.test_sagent_run_end import SLOW_FAILURE


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("kaboom")


def tools() -> ToolManager:
    manager = ToolManager()
    manager.add(add)
    manager.add(explode)
    return manager


def multi_agent_script() -> list[Turn]:
    return [
        Turn(role="decompose", json={"tasks": [{"id": "1", "title": "Add"}]}),
        Turn(role="planning", text="Add them."),
        Turn(
            role="executor",
            tool_calls=[ScriptedToolCall(name="add", arguments={"a": 1, "b": 2}, id="call_1")],
        ),
        Turn(role="executor", text="It is 3."),
        Turn(role="observation", text="Observed."),
        Turn(
            role="judge",
            json={"tasks": [{"task_id": "1", "status": "done", "result": "3"}], "all_done": True},
        ),
        Turn(role="stage_summary", text="Done."),
        Turn(role="summary", text="1 + 2 = 3."),
    ]


async def run(traced: Traced, **request: Any) -> list[EventBase]:
    agent = SAgent(traced.rt)
    return [e async for e in agent.run_stream(RunRequest(**request), "u1")]


def by_id(spans: list[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans}


def parent_name(span: ReadableSpan, spans: list[ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    return by_id(spans)[span.parent.span_id].name


async def test_multi_agent_run_with_a_tool_call(traced: TracedFactory) -> None:
    t: Traced = await traced(ScriptedLLM(multi_agent_script()), tools())
    events = await run(t, message="add 1 and 2", deep_thinking=False, multi_agent=True)
    assert events[-1].type == "run.finished"
    spans = t.spans()

    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "invoke_workflow default"
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["sage.run.id"] == events[0].run_id
    assert root.attributes["gen_ai.conversation.id"] == events[0].session_id
    assert root.attributes["sage.run.status"] == "finished"
    # One trace; its id is the one every event carries.
    trace_id = format_trace_id(root.context.trace_id)
    assert {format_trace_id(s.context.trace_id) for s in spans} == {trace_id}
    assert {e.trace_id for e in events} == {trace_id}

    agents = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert [s.name for s in sorted(agents, key=lambda s: s.start_time or 0)] == [
        "invoke_agent router",
        "invoke_agent decompose",
        "invoke_agent planning",
        "invoke_agent executor",
        "invoke_agent observation",
        "invoke_agent judge",
        "invoke_agent stage_summary",
        "invoke_agent summary",
    ]
    for span in agents:
        assert parent_name(span, spans) == root.name
        assert span.kind is SpanKind.INTERNAL
        assert span.attributes is not None
        assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert span.attributes["gen_ai.agent.name"] == span.name.removeprefix("invoke_agent ")

    chats = [s for s in spans if s.name.startswith("chat ")]
    # Every scripted turn was one LLM call, inside the agent that made it.
    assert len(chats) == len(multi_agent_script())
    executor_chats = [s for s in chats if parent_name(s, spans) == "invoke_agent executor"]
    assert [s.name for s in executor_chats] == ["chat scripted-executor"] * 2
    first = sorted(executor_chats, key=lambda s: s.start_time or 0)[0]
    assert first.kind is SpanKind.CLIENT
    attrs = first.attributes
    assert attrs is not None
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "scripted-executor"
    assert attrs["gen_ai.response.model"] == "scripted-executor"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert isinstance(attrs["gen_ai.usage.input_tokens"], int)
    assert isinstance(attrs["gen_ai.usage.output_tokens"], int)
    assert not any("error.type" in (s.attributes or {}) for s in chats)
    # Content is not recorded unless the operator opts in.
    assert not any("gen_ai.input.messages" in (s.attributes or {}) for s in spans)

    (tool_span,) = t.named("execute_tool add")
    assert parent_name(tool_span, spans) == "invoke_agent executor"
    assert tool_span.attributes is not None
    assert tool_span.attributes["gen_ai.tool.name"] == "add"
    assert tool_span.attributes["gen_ai.tool.call.id"] == "call_1"
    assert tool_span.attributes["sage.tool.source"] == "local"
    assert "gen_ai.tool.call.arguments" not in tool_span.attributes
    assert tool_span.status.status_code is StatusCode.UNSET


async def test_content_is_recorded_when_the_operator_opts_in(traced: TracedFactory) -> None:
    script = [
        Turn(role="simple", tool_calls=[ScriptedToolCall(name="add", arguments={"a": 2, "b": 5})]),
        Turn(role="simple", text="Seven."),
    ]
    t = await traced(ScriptedLLM(script), tools(), otel_capture_content=True)
    await run(t, message="what is 2+5", deep_thinking=False, multi_agent=False)
    chats = sorted(t.named("chat scripted-simple"), key=lambda s: s.start_time or 0)
    assert len(chats) == 2
    first = chats[0].attributes or {}
    sent = json.loads(str(first["gen_ai.input.messages"]))
    assert sent[-1] == {"role": "user", "parts": [{"type": "text", "content": "what is 2+5"}]}
    answered = json.loads(str((chats[1].attributes or {})["gen_ai.output.messages"]))
    assert answered[0]["parts"] == [{"type": "text", "content": "Seven."}]
    (tool_span,) = t.named("execute_tool add")
    assert json.loads(str((tool_span.attributes or {})["gen_ai.tool.call.arguments"])) == {
        "a": 2,
        "b": 5,
    }
    assert (tool_span.attributes or {})["gen_ai.tool.call.result"] == "7"
    # The history is prepared inside the agent, once per LLM call.
    spans = t.spans()
    history = [s for s in spans if s.name == "prepare_history"]
    assert [parent_name(s, spans) for s in history] == ["invoke_agent simple"] * 2
    # Store writes: the run's begin and end under the run, each message
    # (call, result, answer) under the agent that wrote it.
    (begin,) = [s for s in spans if s.name == "store.begin_run"]
    (end,) = [s for s in spans if s.name == "store.end_run"]
    assert parent_name(begin, spans) == parent_name(end, spans) == "invoke_workflow default"
    writes = [s for s in spans if s.name == "store.add_messages"]
    assert [parent_name(s, spans) for s in writes] == ["invoke_agent simple"] * 3


async def test_a_failing_tool_and_a_failing_llm_call_are_errors(traced: TracedFactory) -> None:
    script = [
        Turn(role="simple", tool_calls=[ScriptedToolCall(name="explode", arguments={})]),
        Turn(role="simple", text="never", faults=Faults(http_status=503, fail_times=5)),
    ]
    t = await traced(ScriptedLLM(script), tools(), llm_max_retries=0)
    events = await run(t, message="go", deep_thinking=False, multi_agent=False)
    assert events[-1].type == "run.failed"
    (tool_span,) = t.named("execute_tool explode")
    assert tool_span.status.status_code is StatusCode.ERROR
    assert (tool_span.attributes or {})["error.type"] == "tool_error"
    failed_chat = sorted(t.named("chat scripted-simple"), key=lambda s: s.start_time or 0)[-1]
    assert failed_chat.status.status_code is StatusCode.ERROR
    assert (failed_chat.attributes or {})["error.type"] == "LLMUnavailable"
    (root,) = [s for s in t.spans() if s.parent is None]
    assert root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {})["sage.run.status"] == "failed"
    (simple,) = t.named("invoke_agent simple")
    assert simple.status.status_code is StatusCode.ERROR


async def test_recorded_content_has_no_planted_secret(traced: TracedFactory) -> None:
    key = "sk-planted-llm-key-0123456789abcdef"
    user_key = "user-planted-key-9876"
    said = f"use {key} and {user_key} and Bearer abcdefghijklmnop"
    script = [
        Turn(role="simple", tool_calls=[ScriptedToolCall(name="explode", arguments={"x": said})]),
        Turn(role="simple", text=f"I will not repeat {key}."),
    ]
    t = await traced(
        ScriptedLLM(script),
        tools(),
        otel_capture_content=True,
        llm_api_key=key,
        api_keys={user_key: "alice"},
    )
    await run(t, message=said, deep_thinking=False, multi_agent=False)
    dumped = " ".join(
        f"{s.name} {dict(s.attributes or {})} {s.status.description}" for s in t.spans()
    )
    assert "[REDACTED]" in dumped
    for secret in (key, user_key, "abcdefghijklmnop"):
        assert secret not in dumped


async def test_the_clients_traceparent_parents_the_run(traced: TracedFactory) -> None:
    t = await traced(ScriptedLLM([Turn(role="simple", text="a"), Turn(role="simple", text="b")]))
    agent = SAgent(t.rt)
    request = RunRequest(message="hi", deep_thinking=False, multi_agent=False)
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    info = await agent.start(request, "u1", traceparent=caller)
    assert info.trace_id == "0af7651916cd43dd8448eb211c80319c"
    _ = [e async for e in t.rt.runs.subscribe(info.run_id)]
    (root,) = t.named("invoke_workflow default")
    assert root.parent is not None and root.parent.span_id == 0xB7AD6B7169203331
    assert root.parent.is_remote
    # A malformed one is ignored: the run starts its own trace.
    info = await agent.start(request, "u1", traceparent="00-zz-not-a-trace-01")
    assert len(info.trace_id) == 32 and info.trace_id != "0af7651916cd43dd8448eb211c80319c"
    _ = [e async for e in t.rt.runs.subscribe(info.run_id)]


async def test_a_cancel_during_a_failed_end_still_ends_the_run_span(
    traced: TracedFactory, pg_url: str
) -> None:
    """A cancel that lands while a failed run's end is written (a trigger
    holds it) makes that end raise ``CancelledError`` once the failure is
    published; the run's span still ends ``failed`` (it is what the store
    and the client have), and the active-runs count goes back down."""
    import psycopg

    llm = ScriptedLLM([Turn(text="one two three four", faults={"cut_after_chunks": 2})])
    t = await traced(llm, database_url=pg_url)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as db:
        await db.execute(SLOW_FAILURE)  # type: ignore[arg-type]
    agent = SAgent(t.rt)
    info = await agent.start(RunRequest(message="hi", deep_thinking=False, multi_agent=False), "u1")
    cancelled = False
    async for event in t.rt.runs.subscribe(info.run_id):
        if event.type == "agent.finished" and not cancelled:
            await asyncio.sleep(0.5)  # the end's write is under way by now
            cancelled = agent.cancel(info.run_id)
    assert cancelled
    await t.rt.runs.wait(info.run_id)
    (root,) = [s for s in t.spans() if s.parent is None]
    assert (root.attributes or {})["sage.run.status"] == "failed"
    assert value(points(t)["sage.runs.active"]) == 0
