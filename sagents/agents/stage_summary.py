"""TaskStageSummaryAgent: a short progress note after each loop iteration,
so a user watching a long run sees where it stands."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.prompts import user_turn
from sagents.agents.streaming import Outcome, stream_message
from sagents.context.session_context import SessionContext
from sagents.events import EventBase

PROMPT = """Write a two- or three-sentence progress update for the user: what
has been completed, what is next. The latest observation: {observation}"""


class TaskStageSummaryAgent:
    name = "stage_summary"
    role = "stage_summary"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        if ctx.tasks.get(ctx.tasks.current) is None:
            return
        out = Outcome()
        async for event in stream_message(
            ctx,
            agent=self.name,
            role=self.role,
            kind="stage_summary",
            messages=user_turn(ctx, PROMPT.format(observation=ctx.notes.observation or "(none)")),
            out=out,
        ):
            yield event
        ctx.notes.stage_summaries.append(out.text)
