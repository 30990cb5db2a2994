"""TaskObservationAgent: reads the step's results and says what was learned
and what is still missing, so the judge decides on evidence, not on hope."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.prompts import user_turn
from sagents.agents.streaming import Outcome, stream_message
from sagents.context.session_context import SessionContext
from sagents.events import EventBase

PROMPT = """Observe the result of the step just carried out for task {task}.
Plan: {plan}
What was done and found:
{execution}
State briefly: what was learned, whether the task's goal is met, and what is
missing or went wrong. Only state what the results support."""


class TaskObservationAgent:
    name = "observation"
    role = "observation"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        task = ctx.tasks.get(ctx.tasks.current)
        if task is None:
            return
        instruction = PROMPT.format(
            task=f"{task.id} ({task.title})",
            plan=ctx.notes.plan or "(none)",
            execution=ctx.notes.execution or "(nothing)",
        )
        out = Outcome()
        async for event in stream_message(
            ctx,
            agent=self.name,
            role=self.role,
            kind="observation",
            messages=user_turn(ctx, instruction),
            out=out,
        ):
            yield event
        ctx.notes.observation = out.text
