"""How a run that did not finish ends: its open agents closed, its partial
output saved, its end and terminal event written in one transaction, then
the terminal event published (``SAgent`` and ``resume`` share it)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, cast, get_args

from sagents.context.session_context import SessionContext
from sagents.events import (
    AgentFinished,
    EventBase,
    MessageCompleted,
    MessageKind,
    RunCancelled,
    RunFailed,
    RunFinished,
)
from sagents.run_emitter import RunEmitter, describe_failure
from sagents.store.records import MessageRecord, RunStatus, SessionStatus, StoredEvent

if TYPE_CHECKING:
    from sagents.runtime import Runtime

log = logging.getLogger("sagents.sagent")
"""The run's logger: a failure is logged where runs log."""


async def stop_run(
    rt: Runtime,
    ctx: SessionContext | None,
    emit: RunEmitter,
    agent_status: str,
    run_status: RunStatus,
    session_status: SessionStatus,
    detail: str,
    terminal: EventBase,
) -> None:
    """Close open agents, save partial output, record how the run ended
    and publish ``terminal``.

    One write, as for a finished run: the run's end, its partial
    messages, its pending events and ``terminal`` commit together
    (``RunJournal.end_run``), and ``terminal`` is published after.

    Store failures here are logged, not raised: the terminal event must
    still go out, or a client would wait forever (the journal then
    writes it with the run's last flush).
    """
    saved: list[MessageRecord] = []
    if ctx is not None:
        # Partial messages first: they belong inside their agent's span.
        saved = ctx.messages.interrupt_open(run_id=ctx.run_id)
        for record in saved:
            if record.role == "assistant" and record.content:
                emit(
                    MessageCompleted(
                        agent=record.agent,
                        message_id=record.id,
                        kind=_kind(record.kind),
                        content=record.content,
                        interrupted=True,
                    )
                )
        while ctx.control.open_agents:
            agent, node, started = ctx.control.open_agents.pop()
            emit(
                AgentFinished(
                    agent=agent,
                    node=node,
                    status="cancelled" if agent_status == "cancelled" else "error",
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            )
    terminal = emit.stamped(terminal)

    async def end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        await rt.store.end_run(
            emit.run_id,
            run_status,
            session_id=emit.session_id,
            session_status=session_status,
            messages=saved,
            error=detail if run_status is not RunStatus.CANCELLED else None,
            input_tokens=ctx.usage.input_tokens if ctx else 0,
            output_tokens=ctx.usage.output_tokens if ctx else 0,
            events=events,
            floors=floors,
        )

    journal = rt.runs.journal
    try:
        await asyncio.shield(end([], {}) if journal is None else journal.end_run(terminal, end))
    except asyncio.CancelledError:
        # Cancelled again (shutdown) while the write goes on: publish
        # the terminal event the write holds, not another one at its
        # seq; if the write fails, the journal's last flush writes it.
        emit.send(terminal)
        raise
    except Exception:
        log.exception("could not record the end of run %s", emit.run_id)
    emit.send(terminal)


def _kind(kind: str | None) -> MessageKind:
    return cast(MessageKind, kind) if kind in get_args(MessageKind) else "answer"


async def end_finished_run(rt: Runtime, emit: RunEmitter, finished: RunFinished) -> None:
    """End a finished run in one commit (its status, answer and usage, its
    pending event-log rows and ``finished``), then publish ``finished``: a
    client must not see the run end before the store says so. Shared by a
    run and a resumed run.

    A cancel that arrives during the write is too late: the write is in the
    store's batch writer and commits ``finished`` whatever the run does.
    The run waits for it and publishes ``finished``; ending it as cancelled
    instead would publish a second terminal event at the same ``seq`` as
    the stored one, and the client would see an end the store contradicts
    (found by tests/app/test_two_replicas_stress_e2e.py, a cancel from the
    other replica racing the run's end)."""
    usage = finished.usage

    async def end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        await rt.store.end_run(
            emit.run_id,
            RunStatus.FINISHED,
            session_id=emit.session_id,
            session_status=SessionStatus.COMPLETED,
            answer=finished.answer,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            events=events,
            floors=floors,
        )

    journal = rt.runs.journal
    write = asyncio.ensure_future(
        end([], {}) if journal is None else journal.end_run(finished, end)
    )
    while not write.done():
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
    write.result()  # a failed write fails the run (its end is not stored)
    emit.send(finished)


async def cancel_run(
    rt: Runtime, ctx: SessionContext | None, emit: RunEmitter, reason: str
) -> None:
    """End a cancelled run (``stop_run``): agents ``cancelled``, the run
    ``cancelled``, its session ``interrupted``, ``run.cancelled`` last."""
    await stop_run(
        rt,
        ctx,
        emit,
        "cancelled",
        RunStatus.CANCELLED,
        SessionStatus.INTERRUPTED,
        reason,
        RunCancelled(reason=reason),
    )


async def fail_run(
    rt: Runtime, ctx: SessionContext | None, emit: RunEmitter, exc: Exception, run_id: str
) -> None:
    """End a failed run (``stop_run``) with what a client may read of
    ``exc`` (``describe_failure``), redacted: a provider's error may echo a key."""
    error_type, message = describe_failure(exc, run_id)
    message = rt.redactor.text(message)
    await stop_run(
        rt,
        ctx,
        emit,
        "error",
        RunStatus.FAILED,
        SessionStatus.ERROR,
        message,
        RunFailed(error_type=error_type, message=message),
    )
