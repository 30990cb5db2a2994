"""TaskExecutorAgent: carries out the planned step with tools.

It runs the same answer-or-call-tools loop as SimpleAgent (tool calls of one
round run concurrently), but its conversation is the step: the task, the
plan, and its own tool calls and results. What it found is left in
``ctx.notes.execution`` for the observer and the judge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sagents.agents.prompts import system_prompt, working_notes
from sagents.agents.streaming import Outcome, tool_loop
from sagents.context.session_context import SessionContext
from sagents.events import EventBase
from sagents.store.records import TaskRecord

PROMPT = """Carry out this task now, using the available tools where they help:
{task}
The plan for this step:
{plan}
When you are done, reply with what you did and the result, concisely and
factually. If something failed, say what and why."""

MAX_TOOL_ROUNDS = 6
RESULT_PREVIEW_CHARS = 2000


class TaskExecutorAgent:
    name = "executor"
    role = "executor"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        task = ctx.tasks.get(ctx.tasks.current)
        if task is None:
            return
        async for event in self.work(ctx, task, len(ctx.messages.messages), MAX_TOOL_ROUNDS):
            yield event

    async def work(
        self,
        ctx: SessionContext,
        task: TaskRecord,
        start: int,
        rounds: int,
        out: Outcome | None = None,
    ) -> AsyncIterator[EventBase]:
        """The step's tool loop, its conversation being the messages from
        ``start`` on, for at most ``rounds`` more rounds. A resumed run
        (``sagents.resume_flow``) calls this to finish a step whose calls
        waited for an approval, with the rounds it had left and ``out``
        holding the step's last message."""
        instruction = PROMPT.format(
            task=f"{task.id}: {task.title}\n{task.description}".strip(),
            plan=ctx.notes.plan or "(none)",
        )
        notes = working_notes(ctx)

        def messages() -> list[dict[str, Any]]:
            head = f"The user's request:\n{ctx.user_input}" + (f"\n\n{notes}" if notes else "")
            step = [m.to_openai() for m in ctx.messages.messages[start:]]
            return [system_prompt(ctx, instruction), {"role": "user", "content": head}, *step]

        out = out or Outcome()
        async for event in tool_loop(
            ctx,
            agent=self.name,
            role=self.role,
            kind="execution",
            build_messages=messages,
            max_rounds=rounds,
            out=out,
        ):
            yield event
        results = [
            f"- {m.name}: {(m.content or '')[:RESULT_PREVIEW_CHARS]}"
            for m in ctx.messages.messages[start:]
            if m.role == "tool"
        ]
        ctx.notes.execution = out.text + (
            "\n\nTool results:\n" + "\n".join(results) if results else ""
        )
        if not out.finished:
            ctx.notes.execution += f"\n\n(Stopped after {MAX_TOOL_ROUNDS} tool rounds.)"
