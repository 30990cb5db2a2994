"""Resuming a run that waits for an approval after its process stopped.

A run that waits for a decision is ``waiting`` in the store, with the
assistant message that made the call already committed and the call
recorded in ``approvals``. If its process stops (a restart: shutdown lets go
of it at once; a crash: its lease runs out), the decision, on whichever
server receives it, resumes it here, under the same run id, with its event
``seq`` going on from the stored log, so a client following the run's events
sees one run.

What a resumed run does:

- Loads the session's stored messages and takes the run's last assistant
  message with tool calls. Its calls that have a result keep it. A call with
  an approval row gets the decision (waiting again for one still pending):
  approve and edit run the call, reject gives the model the reason. A call
  without an approval and without a result was running when the process
  stopped: it gets the same "interrupted, outcome unknown" result recovery
  writes after a crash, and is not run again.
- Then it continues where the run waited:

  * in a task's executor (a multi-agent run's task loop): the executor's
    tool loop goes on with the step's conversation and the rounds it had
    left, then the flow is walked on from just after the executor, as the
    stopped process would have: the rest of the loop body for that task
    (observation, judge, stage summary), the loop's next iterations (its
    ``tasks_finished`` checked first, ``max_loop_count`` counting the
    iterations before the stop), the summary, and suggest when the run
    asked for it. Where it waited is derived from the stored messages and
    tasks (``sagents.resume_flow`` says how, and why that is reliable);
  * anywhere else (the simple agent, the skill executor, an agent of a
    custom flow): the simple agent's tool loop (the run's options: tool
    allow-list, loop count) until the model answers; then the run ends.

A run that waited on its plan (``approve_plan``) instead takes the decision
on the plan, creates its tasks and walks the flow on from just after
decomposition (the task loop, the summary, suggest when asked for).

What it does not redo or recover: agents that had finished before the wait
(routing, analysis, decomposition, earlier tasks) are not run again; their
results come from the store (tasks, the analysis message, the stage
summaries, the plan of the current step); the workflows a
``workflow_select`` chose are not (the planner and executor after the
resume see every workflow the run allowed). A task the judge had sent round
again (``continue``) counts its attempts from 1 after the resume. Memory
recall and skill selection are not repeated (the skills listed to the model
are the run's allowed ones). The flow walked is the server's
(``SAgent.flow``), not one a Python caller passed to that one run. A run
that waited in an agent other than the task executor ends after the simple
agent's loop: what would have followed that agent in the flow
(``force_summary``, suggest) does not run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from sagents.agents.decompose import PLAN_CALL, Decomposition, TaskDecomposeAgent
from sagents.agents.simple import SimpleAgent
from sagents.agents.streaming import run_tool_calls
from sagents.context.messages import CANCELLED_TOOL_RESULT, MessageManager
from sagents.context.parts import PromptParts
from sagents.context.session_context import SessionContext
from sagents.context.tasks import TaskManager
from sagents.events import EventBase, RunCancelled, RunFinished
from sagents.flow.position import FlowPosition, locate
from sagents.request import RunOptions
from sagents.resume_flow import continue_flow, executor_step
from sagents.run_emitter import RunEmitter
from sagents.run_stop import cancel_run, end_finished_run, fail_run
from sagents.runs.approvals import suspend_waiting
from sagents.runs.registry import RunInfo, RunSuspended
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.store import INTERRUPTED_TOOL_RESULT
from sagents.store.records import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    StoredEvent,
    new_id,
    now,
)
from sagents.tools.builtin import hidden_builtins

log = logging.getLogger(__name__)

CANCEL_REASON = "cancelled by the user"


async def resume_waiting_run(sagent: SAgent, session: SessionRecord, run: RunRecord) -> RunInfo:
    """Start the continuation of ``run`` (claimed by this process) in the
    background; raises ``SessionBusy`` if the session has a live run."""
    rt = sagent.runtime
    bounds = await rt.store.event_bounds(run.id)
    last = bounds[1] if bounds is not None else 0

    def on_cancel() -> None:
        rt.approvals.cancelling(run.id, rt.runs.cancel_reason(run.id))

    async def body(publish: Callable[[EventBase], None]) -> None:
        await _continue(sagent, session, run, publish, last)

    await rt.runs.reserve(session.id, run.id)
    return rt.runs.start(
        run_id=run.id,
        session_id=session.id,
        user_id=session.user_id,
        body=body,
        on_cancel=on_cancel,
        first_seq=last + 1,
    )


def _pending_calls(history: list[MessageRecord], run_id: str) -> MessageRecord | None:
    """The run's last assistant message with tool calls, cut to the calls
    that have no result yet (None when every call has one)."""
    answered = {m.tool_call_id for m in history if m.role == "tool"}
    for message in reversed(history):
        if message.run_id != run_id or message.role != "assistant" or not message.tool_calls:
            continue
        open_calls = [c for c in message.tool_calls if c["id"] not in answered]
        return dataclasses.replace(message, tool_calls=open_calls) if open_calls else None
    return None


async def _continue(
    sagent: SAgent,
    session: SessionRecord,
    run: RunRecord,
    publish: Callable[[EventBase], None],
    last_seq: int,
) -> None:
    rt = sagent.runtime
    emit = RunEmitter(publish, session.id, run.id)
    emit.seq = last_seq
    ctx: SessionContext | None = None
    try:
        options = RunOptions.model_validate(run.options).resolved(rt.settings)
        history = await rt.store.list_messages(session.id)
        ctx = SessionContext(
            session=session,
            run=run,
            user_id=session.user_id,
            user_input=run.input,
            options=options,
            settings=rt.settings,
            llm=rt.llm,
            tools=rt.tools.proxy(
                options.available_tools, hidden_builtins(rt.tools, options.builtin_tools)
            ),
            store=rt.store,
            messages=MessageManager(session.id, history),
            tasks=TaskManager(session.id, run.id, rt.store),
            skills=rt.skills,
            prompt=PromptParts(skill_view=await sagent._skill_view(session.user_id, None)),
            approvals=rt.approvals,
        )
        ctx.history = rt.history
        ctx.control.emit = emit
        emit.agents = ctx.control.open_agents
        asked = {a.call_id: a for a in await rt.store.list_approvals(run.id)}
        plan = asked.get(PLAN_CALL)
        decomposed = locate(sagent.flow, TaskDecomposeAgent.name) if plan is not None else None
        if plan is not None and decomposed is not None:
            # It waited on its plan: take the decision, then walk the flow
            # on from just after decomposition (the task loop, the summary,
            # and what follows them: suggest when asked for).
            async for event in TaskDecomposeAgent().create_tasks(
                ctx, Decomposition.model_validate(plan.arguments)
            ):
                emit(event)
            async for event in sagent.executor.run(
                sagent.flow, ctx, after=FlowPosition(decomposed)
            ):
                emit(event)
            message = None
        else:
            message = _pending_calls(history, run.id)
        step = (
            await executor_step(sagent.flow, sagent.executor, ctx, message)
            if message is not None
            else None
        )
        if step is not None:
            # It waited in a task's executor: the executor is open again
            # while its calls run and its tool loop finishes.
            ctx.control.open_agents.append((step.agent, step.node_id, time.perf_counter()))
        if message is not None:
            agent = message.agent or SimpleAgent.name
            lost = {
                call["id"]: INTERRUPTED_TOOL_RESULT
                for call in message.tool_calls or []
                if call["id"] not in asked
            }
            async for event in run_tool_calls(ctx, message, agent, refused=lost):
                emit(event)
        await rt.store.settle_approvals(run.id, session.id)
        if step is not None:
            async for event in continue_flow(sagent.flow, sagent.executor, ctx, step):
                emit(event)
        elif plan is None or decomposed is None:
            async for event in SimpleAgent().run(ctx):
                emit(event)
        answer = ctx.answer or ""
        finished = emit.stamped(RunFinished(answer=answer, usage=ctx.usage))
        await end_finished_run(rt, emit, finished)  # one commit, then published
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        if rt.approvals.suspended(run.id):
            await suspend_waiting(rt.store, run.id, rt.instance_id)
            raise RunSuspended(run.id) from None
        reason = rt.runs.cancel_reason(run.id) or "cancelled"
        await cancel_run(rt, ctx, emit, reason)
    except Exception as exc:
        await fail_run(rt, ctx, emit, exc, run.id)


async def cancel_waiting_run(rt: Runtime, session: SessionRecord, run: RunRecord) -> bool:
    """Cancel a waiting run no process runs (its server stopped); whether
    it was. Like any cancelled run it ends ``cancelled``, its calls without
    a result get the "cancelled" one (the history stays valid), and its
    event log ends with ``run.cancelled``."""
    if not await rt.store.claim_waiting_run(
        run.id, rt.instance_id, now() + rt.settings.run_lease_s
    ):
        return False
    history = await rt.store.list_messages(session.id)
    message = _pending_calls(history, run.id)
    calls = message.tool_calls or [] if message is not None else []
    agent = message.agent if message is not None else None
    stamp = now()
    results = [
        MessageRecord(
            id=new_id("msg"),
            session_id=session.id,
            role="tool",
            content=CANCELLED_TOOL_RESULT,
            tool_call_id=call["id"],
            name=call["function"]["name"],
            run_id=run.id,
            agent=agent,
            interrupted=True,
            created_at=stamp,
            completed_at=stamp,
        )
        for call in calls
    ]
    # The claim made this process the run's only writer: its log's last
    # seq cannot move before the end below, which writes the terminal
    # event in the same commit.
    bounds = await rt.store.event_bounds(run.id)
    end = RunCancelled(
        reason=CANCEL_REASON,
        seq=(bounds[1] if bounds is not None else 0) + 1,
        session_id=session.id,
        run_id=run.id,
        ts=stamp,
    )
    await rt.store.end_run(
        run.id,
        RunStatus.CANCELLED,
        session_id=session.id,
        session_status=SessionStatus.INTERRUPTED,
        messages=results,
        events=[StoredEvent(run.id, end.seq, end.type, end.model_dump_json())],
    )
    return True
