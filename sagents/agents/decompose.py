"""TaskDecomposeAgent: splits the request into subtasks with dependencies.

The model's plan is checked before it is trusted: duplicate ids, unknown
dependencies and cycles are sent back once with the problem named; if the
second answer is still wrong, the dependencies are dropped (the tasks run in
the order given) and a notice says so. Zero subtasks, or no valid answer at
all, means one task: the whole request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase

PROMPT = """Break the user's request into the subtasks needed to complete it, at most {limit}.
Each subtask has a short id ("1", "2", …), a title, a description of what done
looks like, and depends_on: the ids of subtasks that must finish first (no
cycles). Prefer few, meaningful subtasks; a simple request may need only one."""

MAX_SUBTASKS = 10
PLAN_CALL = "sage:plan"
"""Call id and tool name of the plan checkpoint's approval (``approve_plan``);
no tool can have this name (``:`` is not allowed in one)."""
PLAN_REASON = "the run asked for its plan to be approved before it runs (approve_plan)"


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
        async for event in self.create_tasks(ctx, plan):
            yield event

    async def create_tasks(
        self, ctx: SessionContext, plan: Decomposition
    ) -> AsyncIterator[EventBase]:
        """Create the plan's tasks, after the person's decision on it when
        the run asked for one (``approve_plan``; a run resumed after a
        restart comes here with the plan it was waiting on)."""
        rejected: str | None = None
        if ctx.options.approve_plan and ctx.approvals is not None:
            plan, rejected = await self._checkpoint(ctx, plan)
        for task in plan.tasks:
            yield await ctx.tasks.create(task.id, task.title, task.description, task.depends_on)
        if rejected is not None:
            # The tasks stay visible, none runs, and the summary says so.
            for record in list(ctx.tasks.tasks.values()):
                yield await ctx.tasks.update(
                    record.id, "skipped", f"not run: the plan was rejected ({rejected})"
                )
            yield AgentNotice(code="plan_rejected", message=f"The plan was rejected: {rejected}")

    async def _checkpoint(
        self, ctx: SessionContext, plan: Decomposition
    ) -> tuple[Decomposition, str | None]:
        """Wait for the person's decision on the plan: the plan to run (an
        edit replaces it) and, when it was rejected, why."""
        assert ctx.approvals is not None
        approval = await ctx.approvals.wait(
            session_id=ctx.session_id,
            run_id=ctx.run_id,
            call_id=PLAN_CALL,
            tool=PLAN_CALL,
            arguments=plan.model_dump(),
            reason=PLAN_REASON,
            emit=ctx.control.emit,
            agent=self.name,
        )
        if approval.decision == "reject":
            return plan, approval.decision_reason or "no reason given"
        if approval.decision == "edit":
            # Checked by the endpoint (plan_problems) before it was accepted.
            return Decomposition.model_validate(approval.edited_arguments), None
        return plan, None


def plan_problems(arguments: dict[str, Any]) -> list[dict[str, str]]:
    """What is wrong with an edited plan: ``{field, problem}`` items, none
    when it can run."""
    try:
        plan = Decomposition.model_validate(arguments)
    except ValidationError as error:
        return [
            {
                "field": ".".join(["arguments", *(str(p) for p in item["loc"])]),
                "problem": item["msg"],
            }
            for item in error.errors(include_url=False)
        ]
    if not plan.tasks:
        return [{"field": "arguments.tasks", "problem": "a plan needs at least one task"}]
    problem = dependency_problem(plan.tasks)
    return [] if problem is None else [{"field": "arguments.tasks", "problem": problem}]
