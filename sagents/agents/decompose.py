"""TaskDecomposeAgent: splits the request into subtasks with dependencies.

The model's plan is checked before it is trusted: duplicate ids, unknown
dependencies and cycles are sent back once with the problem named; if the
second answer is still wrong, the dependencies are dropped (the tasks run in
the order given) and a notice says so. Zero subtasks, or no valid answer at
all, means one task: the whole request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase

PROMPT = """Break the user's request into the subtasks needed to complete it, at most {limit}.
Each subtask has a short id ("1", "2", …), a title, a description of what done
looks like, and depends_on: the ids of subtasks that must finish first (no
cycles). Prefer few, meaningful subtasks; a simple request may need only one."""

MAX_SUBTASKS = 10


class Subtask(BaseModel):
    id: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=2000)
    depends_on: list[str] = Field(default_factory=list)


class Decomposition(BaseModel):
    tasks: list[Subtask] = Field(default_factory=list, max_length=MAX_SUBTASKS)


def dependency_problem(tasks: list[Subtask]) -> str | None:
    """Why the dependencies cannot be run as given, or None."""
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        return "subtask ids are not unique"
    known = set(ids)
    for t in tasks:
        unknown = [d for d in t.depends_on if d not in known]
        if unknown:
            return f"subtask {t.id} depends on unknown ids {unknown}"
    graph = {t.id: list(t.depends_on) for t in tasks}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def cyclic(node: str) -> bool:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1 or (dep not in state and cyclic(dep)):
                return True
        state[node] = 2
        return False

    for node in graph:
        if node not in state and cyclic(node):
            return f"the dependencies form a cycle through subtask {node}"
    return None


class TaskDecomposeAgent:
    name = "decompose"
    role = "decompose"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        messages = user_turn(ctx, PROMPT.format(limit=MAX_SUBTASKS))
        plan = Decomposition(tasks=[Subtask(id="1", title=ctx.user_input[:300])])
        note = "Decomposition fell back to one task for the whole request"
        problem: str | None = None
        for _ in range(2):  # the first answer, then one corrected answer
            out: Decision[Decomposition] = Decision()
            async for event in decide(
                ctx,
                role=self.role,
                messages=messages,
                schema=Decomposition,
                fallback=plan,
                fallback_note=note,
                out=out,
            ):
                yield event
            plan = out.value or plan
            problem = dependency_problem(plan.tasks)
            if problem is None:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": plan.model_dump_json()},
                {"role": "user", "content": f"That plan is invalid: {problem}. Send a fixed plan."},
            ]
            note = "The corrected plan was not valid either"
        if problem is not None:
            yield AgentNotice(
                code="dependencies_dropped",
                message=f"Subtask dependencies were dropped ({problem}); "
                "the subtasks run in the order given.",
            )
            first: dict[str, Subtask] = {}  # the first task of each id, in order
            for task in plan.tasks:
                first.setdefault(task.id, task.model_copy(update={"depends_on": []}))
            plan = Decomposition(tasks=list(first.values()))
        if not plan.tasks:
            plan = Decomposition(tasks=[Subtask(id="1", title=ctx.user_input[:300])])
        for task in plan.tasks:
            yield await ctx.tasks.create(task.id, task.title, task.description, task.depends_on)
