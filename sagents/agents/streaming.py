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
from dataclasses import dataclass, field
from typing import Any

from sagents.context.messages import MessageDraft
from sagents.context.session_context import SessionContext
from sagents.events import (
    AgentNotice,
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
from sagents.files.tool_media import save_tool_media
from sagents.llm.types import LLMRequest, StreamEnd, TextDelta, ToolCallDelta, UsageReport
from sagents.llm.types import ReasoningDelta as ReasoningChunk
from sagents.runs.approvals import approval_reason, rejection_text
from sagents.skills.tools import SKILL_TOOL_NAMES
from sagents.store.records import MessageRecord
from sagents.tools.call_scope import CallScope, in_call
from sagents.tools.outcome import ToolOutcome

ANSWER_CUT_NOTE = (
    "\n\n[cut: this answer passed the limit of {limit} characters per message; "
    "the rest was not read]"
)
"""Ends an answer cut by ``SAGE_LLM_MAX_ANSWER_CHARS``; stored with it, so the
user and the model's next turn both know the message is partial."""

CALL_REFUSED = (
    "Not called: this tool call passed the limit of {limit}, and the rest of it "
    "was not read. Call it again with smaller arguments, or split the work."
)

MAX_TOOL_CALLS = 128
"""Tool calls one message may make: far above what models do in parallel, and
a bound on the drafts a model can make Sage hold with tiny calls."""


@dataclass
class Outcome:
    """Where an agent-step generator leaves its result (generators cannot
    return values to ``async for``)."""

    record: MessageRecord | None = None
    finished: bool = False
    """For ``tool_loop``: the model stopped calling tools within the bound."""
    refused: dict[str, str] = field(default_factory=dict)
    """Tool calls of ``record`` that must not run, with their error result."""

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
        yield MessageCompleted(
            message_id=record.id, kind=kind, content=record.content, interrupted=record.interrupted
        )
    out.record = record
    out.refused = draft.refused


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
        async for event in run_tool_calls(ctx, step.record, agent, refused=step.refused):
            yield event


async def stream_into_draft(
    ctx: SessionContext, request: LLMRequest, draft: MessageDraft
) -> AsyncIterator[EventBase]:
    """Stream one completion into ``draft``, yielding events as chunks arrive.

    Shared by every agent that streams text or tool calls, so the mapping
    from LLM chunks to events exists once. So are the caps on what one
    message may hold (``SAGE_LLM_MAX_*``): a model that talks without end
    must not grow a draft, the run log and the stored message without bound.

    * Answer text past the cap: the text up to it is kept, a note saying it
      was cut ends it, the stream is closed (the provider stops generating)
      and the run goes on with what arrived: a long answer is still worth
      having, and the note tells both the user and the model it is partial.
    * Reasoning past the cap is no longer forwarded, but the stream is read
      on: reasoning is not stored, and the answer that follows is what the
      user asked for (the whole-call timeout still bounds the time).
    * Tool-call arguments past the cap cannot be cut into anything usable:
      that call is refused (it gets an error result instead of running) and
      the stream is closed.
    """
    settings = ctx.settings
    max_answer = settings.llm_max_answer_chars
    max_reasoning = settings.llm_max_reasoning_chars
    max_arguments = settings.llm_max_tool_args_chars
    kind: Any = draft.kind
    started = False
    reasoning_cut = False
    stream = ctx.llm.stream(request)
    try:
        async for chunk in stream:
            if isinstance(chunk, TextDelta):
                text = chunk.text
                if not text:
                    continue
                if not started:
                    started = True
                    yield MessageStarted(message_id=draft.id, kind=kind)
                if draft.text_chars + len(text) <= max_answer:
                    draft.add_text(text)
                    yield MessageDelta(message_id=draft.id, kind=kind, delta=text)
                    continue
                for event in _cut_answer(draft, text, max_answer):
                    yield event
                return
            elif isinstance(chunk, ToolCallDelta):
                call, created = draft.add_tool_delta(
                    chunk.index, chunk.id, chunk.name, chunk.arguments
                )
                if created:
                    yield ToolStarted(call_id=call.id, tool=call.name)
                limit = _call_limit_passed(draft, created, max_arguments)
                if limit is not None:
                    draft.refuse_call(chunk.index, CALL_REFUSED.format(limit=limit))
                    yield AgentNotice(
                        code="tool_arguments_too_large",
                        message=f"Tool call {call.id} ({call.name or '?'}) passed the limit of "
                        f"{limit}; it is not made and the rest of the answer was not read.",
                    )
                    return
                if chunk.arguments:
                    yield ToolArgsDelta(call_id=call.id, delta=chunk.arguments)
            elif isinstance(chunk, ReasoningChunk):
                if reasoning_cut:
                    continue
                text = chunk.text
                reasoning_cut = draft.reasoning_chars + len(text) > max_reasoning
                if reasoning_cut:
                    text = text[: max_reasoning - draft.reasoning_chars]
                if text:
                    draft.add_reasoning(text)
                    yield ReasoningDelta(message_id=draft.id, delta=text)
                if reasoning_cut:
                    yield AgentNotice(
                        code="reasoning_truncated",
                        message=f"The model's reasoning passed {max_reasoning} characters "
                        "(SAGE_LLM_MAX_REASONING_CHARS); the rest of it is not shown.",
                    )
            elif isinstance(chunk, UsageReport):
                ctx.usage.add(chunk.input_tokens, chunk.output_tokens, estimated=chunk.estimated)
                yield UsageReported.of(chunk)
            elif isinstance(chunk, StreamEnd):
                break
    finally:
        # Closing the model's generator closes its HTTP response: after a cap
        # this is what stops the provider generating (deterministically, not
        # whenever the generator is collected); after StreamEnd it costs nothing.
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


def _cut_answer(draft: MessageDraft, text: str, limit: int) -> list[EventBase]:
    """Keep ``text`` up to the cap, end the answer with the note, say so."""
    kind: Any = draft.kind
    events: list[EventBase] = []
    kept = text[: limit - draft.text_chars]
    if kept:
        draft.add_text(kept)
        events.append(MessageDelta(message_id=draft.id, kind=kind, delta=kept))
    note = ANSWER_CUT_NOTE.format(limit=limit)
    draft.parts.append(note)
    draft.cut = True
    events.append(MessageDelta(message_id=draft.id, kind=kind, delta=note))
    events.append(
        AgentNotice(
            code="output_truncated",
            message=f"The model's answer passed {limit} characters "
            "(SAGE_LLM_MAX_ANSWER_CHARS); it was cut there and the rest not read.",
        )
    )
    return events


def _call_limit_passed(draft: MessageDraft, created: bool, max_arguments: int) -> str | None:
    """The limit the latest tool-call fragment passed, if it passed one."""
    if draft.arguments_chars > max_arguments:
        return f"{max_arguments} characters of arguments per message (SAGE_LLM_MAX_TOOL_ARGS_CHARS)"
    if created and len(draft.tool_calls) > MAX_TOOL_CALLS:
        return f"{MAX_TOOL_CALLS} tool calls per message"
    return None


def _arguments(raw: str) -> Any:
    """Arguments for the ``tool.called`` event: parsed when they are JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def run_tool_calls(
    ctx: SessionContext,
    message: MessageRecord,
    agent: str,
    *,
    refused: dict[str, str] | None = None,
) -> AsyncIterator[EventBase]:
    """Run one assistant message's tool calls concurrently.

    Results are committed and reported in the order they complete. If the
    run is cancelled, the pending calls are cancelled and awaited (so their
    subprocesses and MCP requests are torn down) before the cancellation
    continues up; the run then gives them "cancelled" results. Calls in
    ``refused`` are not run: they get the given error as their result.
    """
    calls = message.tool_calls or []
    refused = refused or {}
    for call in calls:
        fn = call["function"]
        yield ToolCalled(call_id=call["id"], tool=fn["name"], arguments=_arguments(fn["arguments"]))
    timeout = ctx.settings.tool_timeout_s

    async def invoke(call: dict[str, Any]) -> tuple[dict[str, Any], ToolOutcome]:
        error = refused.get(call["id"])
        if error is not None:
            return call, ToolOutcome(False, error, 0.0)
        fn = call["function"]
        name = fn["name"]
        arguments: str | dict[str, Any] = fn["arguments"]
        if ctx.approvals is not None:
            reason = approval_reason(name, ctx.tools.get(name), ctx.settings)
            if reason is not None:
                approval = await ctx.approvals.wait(
                    session_id=ctx.session_id,
                    run_id=ctx.run_id,
                    call_id=call["id"],
                    tool=name,
                    arguments=_arguments(fn["arguments"]),
                    reason=reason,
                    emit=ctx.control.emit,
                    agent=agent,
                )
                if approval.decision == "reject":
                    return call, ToolOutcome(False, rejection_text(approval), 0.0)
                if approval.decision == "edit":
                    arguments = approval.edited_arguments
        telemetry = ctx.telemetry
        scope = CallScope(
            call["id"],
            fn["name"],
            ctx.tools,
            ctx.control.emit,
            agent,
            session_id=ctx.session_id,
            user_id=ctx.user_id,
            context=ctx,
            approvals=ctx.approvals,
        )
        with in_call(scope):
            if telemetry is None:
                return call, await ctx.tools.call(name, arguments, timeout_s=timeout)
            source, origin = _tool_source(ctx, name, fn["arguments"])
            with telemetry.tool(call["id"], name, source, origin, fn["arguments"]) as span:
                outcome = await ctx.tools.call(name, arguments, timeout_s=timeout)
                telemetry.tool_outcome(span, name, outcome.ok, outcome.content)
            return call, outcome

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


def _tool_source(ctx: SessionContext, name: str, arguments: str) -> tuple[str, str | None]:
    """Where a call goes, for its span: ``skill`` (with the skill's name),
    ``mcp`` / ``builtin_mcp`` (with the server's), or ``local``."""
    spec = ctx.tools.get(name)
    if name in SKILL_TOOL_NAMES:
        decoded = _arguments(arguments)
        skill = decoded.get("name") if isinstance(decoded, dict) else None
        return "skill", skill if isinstance(skill, str) else None
    if spec is None:
        return "unknown", None
    return str(spec.source), spec.origin


async def _record_results(
    ctx: SessionContext, results: list[tuple[dict[str, Any], ToolOutcome]], agent: str
) -> AsyncIterator[EventBase]:
    for call, outcome in results:
        name = call["function"]["name"]
        if outcome.media:
            # Images for the run's next requests (context/media_parts.py),
            # and every part kept as a session file for later (file.created).
            ctx.prompt.tool_media[call["id"]] = (name, outcome.media)
            if ctx.skills is not None:
                for event in await save_tool_media(
                    ctx.skills, ctx.session_id, call["id"], outcome.media
                ):
                    yield event
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
