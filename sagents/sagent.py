"""SAgent: runs one user turn through a flow and reports it as events.

A run executes in its own task, owned by the run registry, and publishes to
the run's channel; callers read the channel. Decoupling the two is what lets
a client disconnect and resume, lets several readers follow one run, and
lets a cancel arrive from anywhere (another HTTP request, Ctrl-C, shutdown).

The run body is the only place that emits terminal events. Whatever happens
inside the flow (an answer, an exception, a cancellation) ends in exactly one
of ``run.finished``, ``run.failed`` or ``run.cancelled``, after the partial
output has been saved and every open agent has been closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable

from sagents.context.messages import MessageManager
from sagents.context.parts import PromptParts
from sagents.context.session_context import SessionContext
from sagents.context.tasks import TaskManager
from sagents.events import (
    EventBase,
    RunFinished,
    RunStarted,
)
from sagents.flow.default import default_flow
from sagents.flow.executor import FlowExecutor
from sagents.flow.nodes import Flow
from sagents.memory.recall import prepare_context
from sagents.observability.logs import bind_run
from sagents.observability.run_telemetry import RunTelemetry, start_run_telemetry, step
from sagents.observability.traced_llm import TracedChatModel
from sagents.request import RunRequest
from sagents.run_commit import AfterCommitChatModel, RunCommit
from sagents.run_emitter import RunEmitter
from sagents.run_errors import SessionNotFound as SessionNotFound
from sagents.run_errors import UnknownNames as UnknownNames
from sagents.run_errors import UnknownSkills as UnknownSkills
from sagents.run_errors import UnknownTools as UnknownTools
from sagents.run_stop import cancel_run, end_finished_run, fail_run
from sagents.runs.approvals import refuse_if_waiting, suspend_waiting
from sagents.runs.channel import EventsDropped
from sagents.runs.registry import RunInfo, RunSuspended
from sagents.runtime import Runtime
from sagents.skills.view import SkillView
from sagents.store.records import (
    RunRecord,
    SessionRecord,
    SessionStatus,
    new_id,
)
from sagents.tools.builtin import hidden_builtins

TITLE_CHARS = 80


class SAgent:
    def __init__(self, runtime: Runtime, flow: Flow | None = None) -> None:
        self.runtime = runtime
        self.flow = flow or default_flow()
        self.executor = FlowExecutor(runtime.catalog)
        runtime.catalog.validate(self.flow)

    async def start(
        self,
        request: RunRequest,
        user_id: str,
        *,
        flow: Flow | None = None,
        traceparent: str | None = None,
    ) -> RunInfo:
        """Validate, load or create the session, and start the run in the background.

        ``traceparent`` is the client's W3C trace context: the run's trace
        continues it (a malformed one is ignored).

        Raises ``SessionNotFound``, ``UnknownTools`` / ``UnknownSkills``,
        ``FlowError`` or ``SessionBusy`` before anything is written, so a
        refused request leaves no trace.
        """
        rt = self.runtime
        flow = flow or self.flow
        if flow is not self.flow:
            rt.catalog.validate(flow)
        if request.available_tools is not None:
            unknown = rt.tools.unknown(request.available_tools)
            if unknown:
                raise UnknownTools(unknown, [t.name for t in rt.tools.list()])
        if request.available_skills is not None:
            if rt.skills is None:
                raise UnknownSkills(request.available_skills, [])
            visible = await rt.skills.for_user(user_id)
            unknown_skills = [n for n in request.available_skills if n not in visible]
            if unknown_skills:
                raise UnknownSkills(unknown_skills, visible.names)
        if request.session_id:
            session = await rt.store.get_session(user_id, request.session_id)
            if session is None:
                raise SessionNotFound(request.session_id)
            if session.status is SessionStatus.WAITING:
                await refuse_if_waiting(rt.store, session.id)
            created = False
        else:
            session = SessionRecord(
                id=new_id("ses"), user_id=user_id, title=request.message.strip()[:TITLE_CHARS]
            )
            created = True
        run = RunRecord(
            id=new_id("run"),
            session_id=session.id,
            input=request.message,
            options=request.options().model_dump(exclude_none=True),
            owner=rt.instance_id,
            lease_until=rt.journal.lease_until() if rt.journal is not None else None,
        )
        holder: list[SessionContext] = []
        telemetry, trace_id = start_run_telemetry(
            rt.observability,
            rt.redactor.text,
            flow=flow.name,
            session_id=session.id,
            run_id=run.id,
            user_id=user_id,
            traceparent=traceparent,
        )

        def on_cancel() -> None:
            if telemetry is not None:
                telemetry.cancel_requested()
            if holder:
                holder[0].control.cancel_requested = True
            rt.approvals.cancelling(run.id, rt.runs.cancel_reason(run.id))

        async def body(publish: Callable[[EventBase], None]) -> None:
            await self._execute(
                request, user_id, session, run, flow, created, holder, publish, telemetry, trace_id
            )

        await rt.runs.reserve(session.id, run.id)
        # Registration is synchronous: no await between the busy check and it.
        try:
            info = rt.runs.start(
                run_id=run.id,
                session_id=session.id,
                user_id=user_id,
                body=body,
                on_cancel=on_cancel,
            )
        except BaseException as exc:
            if telemetry is not None:
                telemetry.refused(exc)
            raise
        return dataclasses.replace(info, trace_id=trace_id)

    async def run_stream(
        self,
        request: RunRequest,
        user_id: str,
        *,
        flow: Flow | None = None,
        cancel_on_exit: bool = True,
    ) -> AsyncIterator[EventBase]:
        """Start a run and yield its events until the terminal one.

        If the caller stops iterating early (or is cancelled), the run is
        cancelled too unless ``cancel_on_exit`` is False. A caller that falls
        further behind than the run log keeps gets ``EventsDropped``; the run
        goes on.
        """
        info = await self.start(request, user_id, flow=flow)
        finished = False
        try:
            async for event in self.runtime.runs.subscribe(info.run_id):
                yield event
            finished = True
        except EventsDropped:
            # The caller fell further behind than the run log keeps: it did
            # not stop reading, so the run goes on (the messages have it all).
            finished = True
            raise
        finally:
            if not finished and cancel_on_exit:
                self.runtime.runs.cancel(info.run_id, "the caller stopped reading")

    async def _skill_view(self, user_id: str, allowed: list[str] | None) -> SkillView | None:
        if self.runtime.skills is None:
            return None
        # A skill whose requirements are not installed is listed by the API
        # (with the reason) but never offered to a run.
        view = (await self.runtime.skills.for_user(user_id)).usable()
        return view if allowed is None else view.only(allowed)

    def cancel(self, run_id: str, reason: str = "cancelled by the user") -> bool:
        return self.runtime.runs.cancel(run_id, reason)

    async def _execute(
        self,
        request: RunRequest,
        user_id: str,
        session: SessionRecord,
        run: RunRecord,
        flow: Flow,
        created: bool,
        holder: list[SessionContext],
        publish: Callable[[EventBase], None],
        telemetry: RunTelemetry | None = None,
        trace_id: str = "",
    ) -> None:
        rt = self.runtime
        bind_run(session.id, run.id, trace_id)  # this task's log records carry them
        if telemetry is not None:
            telemetry.started()
        emit = RunEmitter(publish, session.id, run.id, trace_id)
        emit(RunStarted(input=request.message, options=run.options))
        ctx: SessionContext | None = None
        commit = RunCommit()  # the run's first write (run_commit.py)
        # The gate inside the trace: a sub-agent re-parents the traced
        # model's spans (agent_tool.py) and keeps its inner model, this gate.
        gated = AfterCommitChatModel(rt.llm, commit)
        llm = gated if telemetry is None else TracedChatModel(gated, telemetry)
        try:
            history = [] if created else await rt.store.list_messages(session.id)
            ctx = SessionContext(
                session=session,
                run=run,
                user_id=user_id,
                user_input=request.message,
                options=request.options(rt.settings),
                settings=rt.settings,
                llm=llm,
                tools=rt.tools.proxy(
                    request.available_tools, hidden_builtins(rt.tools, request.builtin_tools)
                ),
                store=rt.store,
                messages=MessageManager(session.id, history),
                tasks=TaskManager(session.id, run.id, rt.store),
                skills=rt.skills,
                prompt=PromptParts(
                    skill_view=await self._skill_view(user_id, request.available_skills)
                ),
                telemetry=telemetry,
                approvals=rt.approvals,
            )
            holder.append(ctx)
            emit.agents = ctx.control.open_agents  # who made an event that does not say
            user_message = ctx.messages.add_user(request.message, run_id=run.id)

            async def begin() -> None:
                with step(telemetry, "store.begin_run"):
                    await rt.store.begin_run(
                        run, user_message, new_session=session if created else None
                    )

            commit.start(begin())  # committed before the LLM's first chunk is seen
            await prepare_context(ctx, emit, rt)  # history budget + recalled memories
            async for event in self.executor.run(flow, ctx):
                emit(event)
            await commit.wait()  # a flow without an LLM call: its error, if any
            answer = ctx.answer or ""
            finished = emit.stamped(RunFinished(answer=answer, usage=ctx.usage))
            with step(telemetry, "store.end_run"):
                # With the run's event log, one commit ends the run and
                # makes its log durable up to the terminal event, which
                # clients see only after that commit.
                await end_finished_run(rt, emit, finished)
            if telemetry is not None:
                telemetry.finish("finished")
            if rt.memory_extractor is not None:  # after the terminal event: never delays it
                rt.memory_extractor.schedule(user_id, session.id, run.id, trace_id)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            reason = rt.runs.cancel_reason(run.id) or "cancelled"
            if rt.approvals.suspended(run.id):  # shutdown while it waits: it stays waiting
                await suspend_waiting(rt.store, run.id, rt.instance_id)
                if telemetry is not None:
                    telemetry.finish("cancelled", asyncio.CancelledError(reason))
                raise RunSuspended(run.id) from None
            # A cancel during the end's write (``stop_run``) raises after
            # the terminal event went out: the run's span ends all the same.
            try:
                await cancel_run(rt, ctx, emit, reason)
            finally:
                if telemetry is not None:
                    telemetry.finish("cancelled", asyncio.CancelledError(reason))
        except Exception as exc:
            try:
                await fail_run(rt, ctx, emit, exc, run.id)
            finally:
                if telemetry is not None:
                    telemetry.finish("failed", exc)
