"""Continuing a resumed run at its place in the flow: a task's executor
that waited for an approval inside the task loop.

Where the run was is derived from what the run already stored, not from a
record of its own, because each part of it is a pure function of stored
state that nothing changes while the run waits:

- the agent: the waiting message's ``agent`` (``executor``), and its node:
  the one node running that agent in the flow (``locate``);
- the task: the task loop works on the planner's pick, the first ready task
  of the run in creation order; the planner stored the statuses it picked
  from (blocked tasks skipped, the pick ``running``) and the executor
  changes none, so the same pick comes out of the stored tasks;
- the loop iteration: every iteration that reached the executor began with
  the planner's committed message (an iteration without a ready task ends
  the loop before it), so the iteration is the count of the run's planner
  messages;
- the step's conversation: the executor's messages after the last planner
  message (the plan is that message), and the tool rounds it used.

What is not recovered: the attempt count of a task that the judge sent
round again (``continue``) before the stop counts from 1 (the loop's
``max_loop_count`` still bounds the run), and the workflows
``workflow_select`` chose (the analysis is recovered from its message; the
routing decision is not needed: the walk continues inside the branch
taken). When anything does not fit (another agent, a flow where the executor
is not only in the task loop, no running pick), the resume falls back to the
simple agent's loop (``sagents.resume``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sagents.agents.analysis import TaskAnalysisAgent
from sagents.agents.executor import MAX_TOOL_ROUNDS, TaskExecutorAgent
from sagents.agents.planning import TaskPlanningAgent
from sagents.agents.stage_summary import TaskStageSummaryAgent
from sagents.agents.streaming import Outcome
from sagents.context.session_context import SessionContext
from sagents.events import AgentFinished, EventBase
from sagents.flow.conditions import TASK_LOOP_ID
from sagents.flow.executor import FlowExecutor
from sagents.flow.nodes import AgentNode, Flow
from sagents.flow.position import FlowPosition, locate, loops_on, nodes_on
from sagents.store.records import MessageRecord, TaskRecord


@dataclass(frozen=True, slots=True)
class ExecutorStep:
    """A task's executor step that waited, as derived from the store."""

    position: FlowPosition
    agent: str
    node_id: str
    task: TaskRecord
    start: int
    """Where the step's conversation starts in ``ctx.messages.messages``."""
    rounds_left: int
    last: MessageRecord
    """The step's last assistant message (the one whose calls waited)."""


def _of_run(history: list[MessageRecord], run_id: str, agent: str) -> list[int]:
    return [i for i, m in enumerate(history) if m.run_id == run_id and m.agent == agent]


async def executor_step(
    flow: Flow, executor: FlowExecutor, ctx: SessionContext, waiting: MessageRecord
) -> ExecutorStep | None:
    """The executor step ``waiting`` (the run's last message with calls)
    belongs to, with ``ctx`` (tasks, notes) set as the step left it; None
    when the run did not wait in a task's executor of ``flow``."""
    name = TaskExecutorAgent.name
    if waiting.agent != name or not isinstance(
        executor.catalog.agents.get(name), TaskExecutorAgent
    ):
        return None
    path = locate(flow, name)
    if path is None or [loop.id for loop in loops_on(flow, path)] != [TASK_LOOP_ID]:
        return None
    history, run_id = ctx.messages.messages, ctx.run_id
    plans = _of_run(history, run_id, TaskPlanningAgent.name)
    if not plans or any(m.agent != name for m in history[plans[-1] + 1 :]):
        return None
    ctx.tasks.tasks = {
        t.id: t for t in await ctx.store.list_tasks(ctx.session_id) if t.run_id == run_id
    }
    ready = ctx.tasks.ready()
    if not ready or ready[0].status != "running":
        ctx.tasks.tasks = {}  # the fallback (the simple agent's loop) had none
        return None
    task = ready[0]
    ctx.tasks.current = task.id
    ctx.tasks.attempts[task.id] = 1
    start = plans[-1] + 1
    ctx.notes.plan = history[plans[-1]].content or ""
    analysis = _of_run(history, run_id, TaskAnalysisAgent.name)
    if analysis:
        ctx.notes.analysis = history[analysis[-1]].content or ""
    ctx.notes.stage_summaries = [
        history[i].content or "" for i in _of_run(history, run_id, TaskStageSummaryAgent.name)
    ]
    rounds = [m for m in history[start:] if m.role == "assistant"]
    node = nodes_on(flow, path)[-1]
    assert isinstance(node, AgentNode)
    return ExecutorStep(
        position=FlowPosition(path, {TASK_LOOP_ID: len(plans)}),
        agent=name,
        node_id=node.node_id,
        task=task,
        start=start,
        rounds_left=max(0, MAX_TOOL_ROUNDS - len(rounds)),
        last=rounds[-1] if rounds else waiting,
    )


async def continue_flow(
    flow: Flow, executor: FlowExecutor, ctx: SessionContext, step: ExecutorStep
) -> AsyncIterator[EventBase]:
    """Finish the step's tool loop (its decided calls have run), close the
    executor (it is the innermost of ``ctx.control.open_agents``), then walk
    the rest of the flow from just after it: the loop body's observation,
    judge and stage summary, the loop's next iterations, the summary and
    what follows."""
    agent = executor.catalog.agents[TaskExecutorAgent.name]
    assert isinstance(agent, TaskExecutorAgent)
    out = Outcome(record=step.last)
    async for event in agent.work(ctx, step.task, step.start, step.rounds_left, out):
        yield event
    name, node_id, started = ctx.control.open_agents.pop()
    yield AgentFinished(
        agent=name,
        node=node_id,
        status="ok",
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    async for event in executor.run(flow, ctx, after=step.position):
        yield event
