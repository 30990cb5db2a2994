"""TaskSummaryAgent: the final answer, written from the tasks' results.

It becomes ``run.finished``'s answer. When the loop ran out of iterations,
the open tasks are marked skipped first and the answer says the work was
cut short, so a partial answer never passes for a complete one. On the
simple path with ``force_summary`` it condenses the answer just given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.prompts import user_turn
from sagents.agents.streaming import Outcome, stream_message
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase

TASKS_PROMPT = """Write the final answer to the user's request from the work done.
Use the tasks' results; do not invent results for tasks that failed or were
skipped — say plainly what could not be done.{cut_short}
Answer in the user's language, directly, without describing the process."""

CUT_SHORT = (
    "\nThe work was cut short: the step limit (max_loop_count) was reached before "
    "every task finished. Say so at the start of the answer."
)

ANSWER_PROMPT = """Summarise the answer just given into a clear, final answer for
the user, keeping every fact and number. The answer to summarise:
{answer}"""


class TaskSummaryAgent:
    name = "summary"
    role = "summary"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        if ctx.tasks.tasks:
            open_tasks = ctx.tasks.open()
            if open_tasks:
                ctx.notes.loop_cut_short = True
                for task in open_tasks:
                    yield await ctx.tasks.update(
                        task.id, "skipped", "not reached: the step limit (max_loop_count) was hit"
                    )
                yield AgentNotice(
                    code="cut_short",
                    message=f"{len(open_tasks)} task(s) were not finished within max_loop_count.",
                )
            instruction = TASKS_PROMPT.format(
                cut_short=CUT_SHORT if ctx.notes.loop_cut_short else ""
            )
        else:
            instruction = ANSWER_PROMPT.format(answer=ctx.answer or "(no answer yet)")
        out = Outcome()
        async for event in stream_message(
            ctx,
            agent=self.name,
            role=self.role,
            kind="summary",
            messages=user_turn(ctx, instruction),
            out=out,
        ):
            yield event
        ctx.answer = out.text
