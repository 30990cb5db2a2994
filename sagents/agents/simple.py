"""SimpleAgent: answer directly, or call tools in a loop until the model stops.

Each round streams one completion (text, reasoning and tool-call argument
deltas become events as they arrive), commits the assistant message, runs the
round's tool calls concurrently and commits each result as it lands. The
loop is bounded by ``max_loop_count``; when the bound is hit the answer says
so rather than ending silently.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from sagents.agents.prompts import system_prompt
from sagents.context.messages import MessageDraft
from sagents.context.session_context import SessionContext
from sagents.events import (
    AgentNotice,
    EventBase,
    MessageCompleted,
    MessageDelta,
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
from sagents.store.records import MessageRecord, new_id, now
from sagents.tools.outcome import ToolOutcome

LIMIT_NOTE = (
    "I stopped before finishing: this run reached its limit of {limit} tool rounds "
    "(max_loop_count). Ask me to continue, or raise max_loop_count."
)


class SimpleAgent:
    name = "simple"
    role = "simple"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        tools = ctx.tools.openai_tools() or None
        limit = ctx.max_loop_count
        for _ in range(limit):
            request = LLMRequest(
                role=self.role,
                messages=[system_prompt(ctx), *ctx.messages.to_openai()],
                tools=tools,
            )
            draft = ctx.messages.open_draft(run_id=ctx.run_id, agent=self.name, kind="answer")
            async for event in stream_into_draft(ctx, request, draft):
                yield event
            record = ctx.messages.complete(draft)
            await ctx.commit(record)
            if record.content:
                yield MessageCompleted(message_id=record.id, kind="answer", content=record.content)
            if not record.tool_calls:
                ctx.answer = record.content or ""
                return
            async for event in run_tool_calls(ctx, record, self.name):
                yield event
        note = LIMIT_NOTE.format(limit=limit)
        yield AgentNotice(code="max_loop_count", message=note)
        message = ctx.messages.add(
            MessageRecord(
                id=new_id("msg"),
                session_id=ctx.session_id,
                role="assistant",
                content=note,
                run_id=ctx.run_id,
                agent=self.name,
                kind="answer",
                completed_at=now(),
            )
        )
        await ctx.commit(message)
        yield MessageCompleted(message_id=message.id, kind="answer", content=note)
        ctx.answer = note


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
            ctx.usage.add(chunk.input_tokens, chunk.output_tokens)
            yield UsageReported(
                model=chunk.model,
                input_tokens=chunk.input_tokens,
                output_tokens=chunk.output_tokens,
            )
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
