"""However a run ends (finished, failed, cancelled), its end is one store
write: the run's status, its partial messages, its pending events and the
terminal event commit together, and the terminal event is not written again
when the run closes (issue 16). A shutdown while a run asks for an approval
does not end it: it stays ``waiting`` for the decision."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sagents.events import (
    AgentFinished,
    ApprovalRequested,
    EventBase,
    RunCancelled,
    RunFailed,
    RunFinished,
    parse_event,
)
from sagents.request import RunRequest
from sagents.resume import resume_waiting_run
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.store import SQLiteStore
from sagents.store.postgres import PostgresStore
from sagents.store.records import RunStatus
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.conftest import RuntimeFactory, make_settings


def simple(message: str) -> RunRequest:
    return RunRequest(message=message, deep_thinking=False, multi_agent=False)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The store's settings: the SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("pg_url")}


async def runtime(
    make_runtime: RuntimeFactory, tmp_path: Path, llm: ScriptedLLM, backend: dict[str, Any]
) -> Runtime:
    # The journal never flushes on its own here: every write counted below
    # is one the run asked for.
    settings = make_settings(tmp_path, event_log_flush_s=10.0, event_log_batch=100_000, **backend)
    return await make_runtime(llm, settings=settings)


def writes(rt: Runtime) -> int:
    """Write transactions the runtime's store committed so far."""
    assert isinstance(rt.store, SQLiteStore | PostgresStore)
    return rt.store.write_batches


async def ended_in_one_write(
    rt: Runtime, session_id: str, run_id: str, before: int, *, messages: int = 0, begin: int = 1
) -> str:
    """The run's writes since ``before`` were its begin (none for a
    resumed run), ``messages`` completed messages and its end only; its
    stored log is whole and ends with one terminal event. Its status."""
    assert writes(rt) - before == begin + messages + 1
    stored = await rt.store.read_events(run_id)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert [e.type for e in stored].count(stored[-1].type) == 1
    assert isinstance(parse_event(stored[-1].data), RunFinished | RunFailed | RunCancelled)
    run = await rt.store.get_run(session_id, run_id)
    assert run is not None
    return run.status.value


async def test_a_finished_run_ends_in_one_write(
    make_runtime: RuntimeFactory, tmp_path: Path, backend: dict[str, Any]
) -> None:
    rt = await runtime(make_runtime, tmp_path, ScriptedLLM([Turn(text="one two three")]), backend)
    before = writes(rt)
    info = await SAgent(rt).start(simple("hi"), "u1")
    await rt.runs.wait(info.run_id)
    status = await ended_in_one_write(rt, info.session_id, info.run_id, before, messages=1)
    assert status == RunStatus.FINISHED.value


async def test_a_failed_run_ends_in_one_write(
    make_runtime: RuntimeFactory, tmp_path: Path, backend: dict[str, Any]
) -> None:
    llm = ScriptedLLM([Turn(text="one two three four", faults={"cut_after_chunks": 2})])
    rt = await runtime(make_runtime, tmp_path, llm, backend)
    before = writes(rt)
    info = await SAgent(rt).start(simple("hi"), "u1")
    await rt.runs.wait(info.run_id)
    status = await ended_in_one_write(rt, info.session_id, info.run_id, before)
    assert status == RunStatus.FAILED.value
    [*_, partial] = await rt.store.list_messages(info.session_id)
    assert partial.role == "assistant" and partial.interrupted  # saved by the same write


async def test_a_cancelled_run_ends_in_one_write(
    make_runtime: RuntimeFactory, tmp_path: Path, backend: dict[str, Any]
) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    llm = ScriptedLLM([Turn(text=words, faults={"token_delay_s": 0.01})])
    rt = await runtime(make_runtime, tmp_path, llm, backend)
    agent = SAgent(rt)
    before = writes(rt)
    info = await agent.start(simple("go"), "u1")
    seen = []
    async for event in rt.runs.subscribe(info.run_id):
        seen.append(event)
        if len(seen) == 8:
            agent.cancel(info.run_id)
    await rt.runs.wait(info.run_id)
    status = await ended_in_one_write(rt, info.session_id, info.run_id, before)
    assert status == RunStatus.CANCELLED.value
    stored = await rt.store.read_events(info.run_id)
    assert [e.data for e in stored] == [e.as_json() for e in seen]  # what the client saw


SLOW_FINISH = """
CREATE FUNCTION slow_finish() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER slow_finish BEFORE UPDATE ON runs FOR EACH ROW
WHEN (NEW.status = 'finished') EXECUTE FUNCTION slow_finish();
"""


async def test_a_cancel_during_the_finished_end_is_too_late(
    make_runtime: RuntimeFactory, tmp_path: Path, pg_url: str
) -> None:
    """A cancel that arrives while the run's finished end is being written
    (a trigger holds that write 1.5 s) does not end the run a second time:
    the client sees the ``run.finished`` the store holds, and only it."""
    import psycopg

    llm = ScriptedLLM([Turn(text="one two three")])
    rt = await runtime(make_runtime, tmp_path, llm, {"database_url": pg_url})
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as db:
        await db.execute(SLOW_FINISH)  # type: ignore[arg-type]
    agent = SAgent(rt)
    info = await agent.start(simple("hi"), "u1")
    seen = []
    async for event in rt.runs.subscribe(info.run_id):
        seen.append(event)
        if event.type == "message.completed":
            await asyncio.sleep(0.5)  # the end's write is under way by now
            agent.cancel(info.run_id)
    await rt.runs.wait(info.run_id)
    assert [e.type for e in seen if e.type.startswith("run.")] == ["run.started", "run.finished"]
    stored = await rt.store.read_events(info.run_id)
    assert [e.data for e in stored] == [e.as_json() for e in seen]  # what the client saw
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert run is not None and run.status is RunStatus.FINISHED


SLOW_FAILURE = SLOW_FINISH.replace("slow_finish", "slow_failure").replace("'finished'", "'failed'")


async def test_a_cancel_during_the_failed_end_keeps_the_failure(
    make_runtime: RuntimeFactory, tmp_path: Path, pg_url: str
) -> None:
    """A cancel that arrives while a failed run's end is being written (a
    trigger holds that write 1.5 s) cancels the run's task a second time,
    inside ``stop_run``: the run still publishes the ``run.failed`` its
    write holds, and only it. Were it to leave the end to the registry,
    the registry would publish ``run.cancelled`` (a cancel was asked for)
    at the seq of the stored ``run.failed``: the client would see an end
    the store contradicts."""
    import psycopg

    llm = ScriptedLLM([Turn(text="one two three four", faults={"cut_after_chunks": 2})])
    rt = await runtime(make_runtime, tmp_path, llm, {"database_url": pg_url})
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as db:
        await db.execute(SLOW_FAILURE)  # type: ignore[arg-type]
    agent = SAgent(rt)
    info = await agent.start(simple("hi"), "u1")
    seen = []
    cancelled = False
    async for event in rt.runs.subscribe(info.run_id):
        seen.append(event)
        if isinstance(event, AgentFinished) and event.status == "error":
            await asyncio.sleep(0.5)  # the end's write is under way by now
            cancelled = agent.cancel(info.run_id)
    await rt.runs.wait(info.run_id)
    assert cancelled  # the run was still ending: the cancel reached its task
    assert [e.type for e in seen if e.type.startswith("run.")] == ["run.started", "run.failed"]
    stored = await rt.store.read_events(info.run_id)
    assert [e.data for e in stored] == [e.as_json() for e in seen]  # what the client saw
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert run is not None and run.status is RunStatus.FAILED


PAY = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_p")


def pay_tools(paid: list[str]) -> ToolManager:
    """``pay``, which needs an approval; each payment is appended to ``paid``."""

    @tool(requires_approval=True)
    def pay(to: str, amount: int) -> str:
        """Pay someone."""
        paid.append(f"{to} {amount}")
        return f"paid {amount} to {to}"

    tools = ToolManager()
    tools.add(pay)
    return tools


async def approve_and_claim(rt: Runtime, run_id: str) -> None:
    """What the decision's route does (app/routes/approvals.py) before it
    resumes a run that waits in no process: decide, then claim the run."""
    assert await rt.approvals.decide(run_id, "call_p", "approve", by="u1") is not None
    assert rt.journal is not None
    assert await rt.store.claim_waiting_run(run_id, rt.instance_id, rt.journal.lease_until())


async def test_a_resumed_run_ends_in_one_write(
    make_runtime: RuntimeFactory, tmp_path: Path, backend: dict[str, Any]
) -> None:
    """A run resumed after an approval (its first process stopped while it
    waited) ends like a fresh run: its end, its pending events and
    ``run.finished`` in one commit (``run_stop.end_finished_run``), not an
    end and then a flush of its log at its close."""
    paid: list[str] = []
    tools = pay_tools(paid)
    settings = make_settings(tmp_path, event_log_flush_s=10.0, event_log_batch=100_000, **backend)
    first = await Runtime.create(settings, llm=ScriptedLLM([Turn(tool_calls=[PAY])]), tools=tools)
    try:
        info = await SAgent(first).start(simple("pay bob"), "u1")
        async for event in first.runs.subscribe(info.run_id):
            if isinstance(event, ApprovalRequested):
                break
    finally:
        await first.aclose()  # a restart: the waiting run stays waiting
    llm = ScriptedLLM([Turn(text="Paid bob 5.")])
    rt = await make_runtime(llm, tools=tools, settings=settings)
    session = await rt.store.get_session("u1", info.session_id)
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert session is not None and run is not None and run.status is RunStatus.WAITING
    await approve_and_claim(rt, run.id)
    before = writes(rt)
    await resume_waiting_run(SAgent(rt), session, run)
    await rt.runs.wait(run.id)
    assert paid == ["bob 5"]
    # The tool's result, the answer, then the end in one write, as a fresh
    # run's. (Settling the approval is a transaction of its own, outside
    # the batch writer that ``writes`` counts, as are the decision and claim.)
    status = await ended_in_one_write(rt, session.id, run.id, before, messages=2, begin=0)
    assert status == RunStatus.FINISHED.value
    stored = await rt.store.read_events(run.id)
    finished = parse_event(stored[-1].data)
    assert isinstance(finished, RunFinished) and finished.answer == "Paid bob 5."


SLOW_REQUEST = """
CREATE FUNCTION slow_request() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER slow_request BEFORE INSERT ON run_events FOR EACH ROW
WHEN (NEW.type = 'approval.requested') EXECUTE FUNCTION slow_request();
"""
SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = %s"


async def held(db: Any) -> bool:
    """Whether a write in the test's database is held by a trigger's sleep
    (one test at a time uses this process's database)."""
    row = await (await db.execute(SLEEPING, (db.info.dbname,))).fetchone()
    return bool(row and row[0])


async def test_a_shutdown_while_approval_requested_is_written_leaves_the_run_waiting(
    make_runtime: RuntimeFactory, tmp_path: Path, pg_url: str
) -> None:
    """The run waits from the moment its approval request is stored: a
    shutdown while ``approval.requested`` is being written (a trigger holds
    that write 1.5 s; the gate flushes it before it waits) suspends the run,
    as one during the wait does, rather than cancelling it. It stays
    ``waiting``, and the decision taken after the restart resumes it."""
    import psycopg

    paid: list[str] = []
    tools = pay_tools(paid)
    settings = make_settings(tmp_path, event_log_flush_s=10.0, database_url=pg_url)
    first = await Runtime.create(settings, llm=ScriptedLLM([Turn(tool_calls=[PAY])]), tools=tools)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as db:
        await db.execute(SLOW_REQUEST)  # type: ignore[arg-type]
        try:
            info = await SAgent(first).start(simple("pay bob"), "u1")
            seen = asyncio.create_task(collect(first, info.run_id))
            async with asyncio.timeout(30):  # until the write of approval.requested is held
                while not await held(db):  # noqa: ASYNC110 - it is PostgreSQL that sleeps
                    await asyncio.sleep(0.01)
        finally:
            await first.aclose()  # a restart inside the write
        await db.execute("DROP TRIGGER slow_request ON run_events")
    assert not first.approvals.waiting(info.run_id)  # its wait was given up
    published = [e.type for e in await seen]
    assert "approval.requested" in published and "run.cancelled" not in published
    llm = ScriptedLLM([Turn(text="Paid bob 5.")])
    rt = await make_runtime(llm, tools=tools, settings=settings)
    session = await rt.store.get_session("u1", info.session_id)
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert session is not None and run is not None and run.status is RunStatus.WAITING
    approval = await rt.store.get_approval(run.id, "call_p")
    assert approval is not None and approval.pending
    stored = [e.type for e in await rt.store.read_events(run.id)]
    assert stored[-1] == "approval.requested" and "run.cancelled" not in stored
    await approve_and_claim(rt, run.id)
    await resume_waiting_run(SAgent(rt), session, run)
    await rt.runs.wait(run.id)
    assert paid == ["bob 5"]
    stored = [e.type for e in await rt.store.read_events(run.id)]
    assert stored[-1] == "run.finished" and "run.cancelled" not in stored
    ended = await rt.store.get_run(session.id, run.id)
    assert ended is not None and ended.status is RunStatus.FINISHED


async def collect(rt: Runtime, run_id: str) -> list[EventBase]:
    """The events the run publishes until its channel closes."""
    return [event async for event in rt.runs.subscribe(run_id)]
