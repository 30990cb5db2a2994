"""SimpleAgent: answer directly, or call tools in a loop until the model stops.

Each round streams one completion (text, reasoning and tool-call argument
deltas become events as they arrive), commits the assistant message, runs the
round's tool calls concurrently and commits each result as it lands. The
loop is bounded by ``max_loop_count``; when the bound is hit the answer says
so rather than ending silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sagents.agents.prompts import system_prompt
from sagents.agents.streaming import Outcome, tool_loop
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase, MessageCompleted
from sagents.store.records import MessageRecord, new_id, now

LIMIT_NOTE = (
    "I stopped before finishing: this run reached its limit of {limit} tool rounds "
    "(max_loop_count). Ask me to continue, or raise max_loop_count."
)


class SimpleAgent:
    name = "simple"
    role = "simple"

    def messages(self, ctx: SessionContext) -> list[dict[str, Any]]:
        return ctx.llm_messages(system_prompt(ctx), role=self.role)

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        limit = ctx.max_loop_count
        out = Outcome()
        async for event in tool_loop(
            ctx,
            agent=self.name,
            role=self.role,
            kind="answer",
            build_messages=lambda: self.messages(ctx),
            max_rounds=limit,
            out=out,
        ):
            yield event
        if out.finished:
            ctx.answer = out.text
            return
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
