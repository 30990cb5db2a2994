"""TaskPlanningAgent: picks the next ready subtask and plans the step.

The pick is deterministic (the first task whose dependencies are done, in
the order the decomposition gave), so a run is reproducible; the model only
plans how to carry the chosen task out. Tasks that can never run because a
dependency failed are marked skipped here, so the loop cannot stall on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.prompts import user_turn
from sagents.agents.streaming import Outcome, stream_message
from sagents.context.session_context import SessionContext
from sagents.events import EventBase

PROMPT = """You plan the next step of a larger piece of work. The task to do now:
{task}
Write a short, concrete plan for this task only: what to do, in what order,
and which of the available tools to use ({tools}). If earlier attempts or
observations show a problem, plan around it. Do not carry the plan out."""


class TaskPlanningAgent:
    name = "planning"
    role = "planning"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        for task in ctx.tasks.blocked():
            yield await ctx.tasks.update(
                task.id, "skipped", "skipped: a dependency did not succeed"
            )
        ready = ctx.tasks.ready()
        ctx.notes.plan = ctx.notes.execution = ctx.notes.observation = ""
        if not ready:
            ctx.tasks.current = None
            return
        task = ready[0]
        ctx.tasks.current = task.id
        ctx.tasks.attempts[task.id] = ctx.tasks.attempts.get(task.id, 0) + 1
        if task.status == "pending":
            yield await ctx.tasks.update(task.id, "running")
        described = f"{task.id}: {task.title}\n{task.description}".strip()
        out = Outcome()
        async for event in stream_message(
            ctx,
            agent=self.name,
            role=self.role,
            kind="plan",
            messages=user_turn(
                ctx, PROMPT.format(task=described, tools=", ".join(ctx.tools.names) or "none")
            ),
            out=out,
        ):
            yield event
        ctx.notes.plan = out.text
