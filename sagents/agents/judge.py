"""TaskCompletionJudgeAgent: decides, per subtask, done / failed / continue.

``continue`` sends the task round the loop again (a retry with a new plan);
after ``MAX_ATTEMPTS`` attempts it is failed instead, so one stubborn task
cannot eat the whole loop budget. ``all_done`` ends the loop early; open
tasks the judge found unnecessary are marked skipped.

Safe default when the model answers badly: accept the current step's result
as the task's result (done). That keeps the run moving and the answer
grounded in what was actually executed; a notice says the verdict was assumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from pydantic import BaseModel, Field

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import EventBase

PROMPT = """Judge the progress of the work. The task just worked on: {task}
What was done and found:
{execution}
Observation:
{observation}
For each task whose status should change, give a verdict: "done" (its goal is
met; put the result in one or two sentences), "failed" (it cannot be done;
say why in result) or "continue" (try again). Set all_done to true only when
the user's request is fully answered."""

MAX_ATTEMPTS = 3


class TaskVerdict(BaseModel):
    task_id: str
    status: Literal["done", "failed", "continue"]
    result: str = Field(default="", max_length=4000)


class Judgement(BaseModel):
    tasks: list[TaskVerdict] = Field(default_factory=list)
    all_done: bool = False
    reason: str = ""


class TaskCompletionJudgeAgent:
    name = "judge"
    role = "judge"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        current = ctx.tasks.get(ctx.tasks.current)
        if current is None:
            return
        fallback = Judgement(
            tasks=[
                TaskVerdict(task_id=current.id, status="done", result=ctx.notes.execution[:4000])
            ]
        )
        out: Decision[Judgement] = Decision()
        async for event in decide(
            ctx,
            role=self.role,
            messages=user_turn(
                ctx,
                PROMPT.format(
                    task=f"{current.id} ({current.title})",
                    execution=ctx.notes.execution or "(nothing)",
                    observation=ctx.notes.observation or "(none)",
                ),
            ),
            schema=Judgement,
            fallback=fallback,
            fallback_note=f"The judge's verdict was assumed: task {current.id} done",
            out=out,
        ):
            yield event
        judgement = out.value or fallback
        for verdict in judgement.tasks:
            task = ctx.tasks.resolve(verdict.task_id)
            if task is None or task.status in ("done", "failed", "skipped"):
                continue
            if verdict.status == "continue":
                if ctx.tasks.attempts.get(task.id, 0) >= MAX_ATTEMPTS:
                    result = f"failed after {MAX_ATTEMPTS} attempts: {verdict.result}".strip()
                    yield await ctx.tasks.update(task.id, "failed", result)
                continue
            yield await ctx.tasks.update(task.id, verdict.status, verdict.result)
        if judgement.all_done:
            for task in ctx.tasks.open():
                yield await ctx.tasks.update(
                    task.id, "skipped", "not needed: the request was already answered"
                )
