"""Streaming building blocks shared by every agent that talks to the LLM.

``stream_into_draft`` maps LLM chunks to events, ``stream_message`` streams
one whole message and commits it, ``run_tool_calls`` runs one message's tool
calls concurrently, and ``tool_loop`` strings them together into the
answer-or-call-tools loop. They exist once so that every agent reports
progress, persists messages and survives cancellation in the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sagents.context.messages import MessageDraft
from sagents.context.session_context import SessionContext
from sagents.events import (
    EventBase,
    MessageCompleted,
    MessageDelta,
    MessageKind,
    MessageStarted,
    ReasoningDelta,
    ToolArgsDelta,
    ToolCalled,
    ToolResult,
    ToolStarted,
    UsageReported,
)
from sagents.llm.types import LLMRequest, StreamEnd, TextDelta, ToolCallDelta, UsageReport
from sagents.llm.types import ReasoningDelta as ReasoningChunk
from sagents.store.records import MessageRecord
from sagents.tools.outcome import ToolOutcome


@dataclass
class Outcome:
    """Where an agent-step generator leaves its result (generators cannot
    return values to ``async for``)."""

    record: MessageRecord | None = None
    finished: bool = False
    """For ``tool_loop``: the model stopped calling tools within the bound."""

    @property
    def text(self) -> str:
        return (self.record.content or "") if self.record else ""


async def stream_message(
    ctx: SessionContext,
    *,
    agent: str,
    role: str,
    kind: MessageKind,
    messages: list[dict[str, Any]],
    out: Outcome,
    tools: list[dict[str, Any]] | None = None,
) -> AsyncIterator[EventBase]:
    """Stream one assistant message, commit it, and report it complete."""
    request = LLMRequest(role=role, messages=messages, tools=tools)
    draft = ctx.messages.open_draft(run_id=ctx.run_id, agent=agent, kind=kind)
    async for event in stream_into_draft(ctx, request, draft):
        yield event
    record = ctx.messages.complete(draft)
    await ctx.commit(record)
    if record.content:
        yield MessageCompleted(message_id=record.id, kind=kind, content=record.content)
    out.record = record


async def tool_loop(
    ctx: SessionContext,
    *,
    agent: str,
    role: str,
    kind: MessageKind,
    build_messages: Callable[[], list[dict[str, Any]]],
    max_rounds: int,
    out: Outcome,
) -> AsyncIterator[EventBase]:
    """Answer or call tools, round after round, until the model stops calling
    tools (``out.finished``) or ``max_rounds`` rounds have run."""
    tools = ctx.tools.openai_tools() or None
    for _ in range(max_rounds):
        step = Outcome()
        async for event in stream_message(
            ctx, agent=agent, role=role, kind=kind, messages=build_messages(), out=step, tools=tools
        ):
            yield event
        out.record = step.record
        if step.record is None or not step.record.tool_calls:
            out.finished = True
            return
        async for event in run_tool_calls(ctx, step.record, agent):
            yield event


async def stream_into_draft(
    ctx: SessionContext, request: LLMRequest, draft: MessageDraft
) -> AsyncIterator[EventBase]:
    """Stream one completion into ``draft``, yielding events as chunks arrive.

    Shared by every agent that streams text or tool calls, so the mapping
    from LLM chunks to events exists once.
    """
    kind: Any = draft.kind
    started = False
    async for chunk in ctx.llm.stream(request):
        if isinstance(chunk, TextDelta):
            if not chunk.text:
                continue
            if not started:
                started = True
                yield MessageStarted(message_id=draft.id, kind=kind)
            draft.parts.append(chunk.text)
            yield MessageDelta(message_id=draft.id, kind=kind, delta=chunk.text)
        elif isinstance(chunk, ToolCallDelta):
            call, created = draft.add_tool_delta(chunk.index, chunk.id, chunk.name, chunk.arguments)
            if created:
                yield ToolStarted(call_id=call.id, tool=call.name)
            if chunk.arguments:
                yield ToolArgsDelta(call_id=call.id, delta=chunk.arguments)
        elif isinstance(chunk, ReasoningChunk):
            draft.reasoning.append(chunk.text)
            yield ReasoningDelta(message_id=draft.id, delta=chunk.text)
        elif isinstance(chunk, UsageReport):
            ctx.usage.add(chunk.input_tokens, chunk.output_tokens, estimated=chunk.estimated)
            yield UsageReported.of(chunk)
        elif isinstance(chunk, StreamEnd):
            break


def _arguments(raw: str) -> Any:
    """Arguments for the ``tool.called`` event: parsed when they are JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def run_tool_calls(
    ctx: SessionContext, message: MessageRecord, agent: str
) -> AsyncIterator[EventBase]:
    """Run one assistant message's tool calls concurrently.

    Results are committed and reported in the order they complete. If the
    run is cancelled, the pending calls are cancelled and awaited (so their
    subprocesses and MCP requests are torn down) before the cancellation
    continues up; the run then gives them "cancelled" results.
    """
    calls = message.tool_calls or []
    for call in calls:
        fn = call["function"]
        yield ToolCalled(call_id=call["id"], tool=fn["name"], arguments=_arguments(fn["arguments"]))
    timeout = ctx.settings.tool_timeout_s

    async def invoke(call: dict[str, Any]) -> tuple[dict[str, Any], ToolOutcome]:
        fn = call["function"]
        return call, await ctx.tools.call(fn["name"], fn["arguments"], timeout_s=timeout)

    if len(calls) == 1:
        # The common case: no task to schedule, one less loop hop per turn.
        results: list[tuple[dict[str, Any], ToolOutcome]] = [await invoke(calls[0])]
        async for event in _record_results(ctx, results, agent):
            yield event
        return

    tasks = [asyncio.ensure_future(invoke(call)) for call in calls]
    try:
        for next_done in asyncio.as_completed(tasks):
            done = await next_done
            async for event in _record_results(ctx, [done], agent):
                yield event
    finally:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def _record_results(
    ctx: SessionContext, results: list[tuple[dict[str, Any], ToolOutcome]], agent: str
) -> AsyncIterator[EventBase]:
    for call, outcome in results:
        name = call["function"]["name"]
        record = ctx.messages.add_tool_result(
            call["id"], name, outcome.content, run_id=ctx.run_id, agent=agent
        )
        await ctx.commit(record)
        yield ToolResult(
            call_id=call["id"],
            tool=name,
            ok=outcome.ok,
            content=outcome.content,
            duration_ms=outcome.duration_ms,
        )
