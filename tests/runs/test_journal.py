"""The run journal: a run's events reach the store's log in batches (not one
commit per event), all of them by the time the run is reported ended, the
log keeps what the capped channel keeps, and leases are renewed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sagents.events import AgentNotice, EventBase, MessageDelta, RunFinished, parse_event
from sagents.runs.journal import RunJournal
from sagents.runs.local import LocalRunRegistry
from sagents.store import RunRecord, RunStatus, SessionRecord, SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "sage.db") as opened:
        yield opened


async def test_a_run_of_many_events_is_written_in_few_transactions(store: SQLiteStore) -> None:
    journal = RunJournal(store, owner="me", flush_s=0.05, batch=100)
    journal.start()
    registry = LocalRunRegistry(journal=journal)

    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, 1000):
            publish(MessageDelta(message_id="m", delta=f"t{seq} ", seq=seq, run_id="r1"))
            await asyncio.sleep(0)  # tokens arrive one by one, as from a stream
        publish(RunFinished(answer="done", seq=1000, run_id="r1"))

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    await registry.wait("r1")
    # Durable when wait() returns: no further flush needed.
    stored = await store.read_events("r1", limit=2000)
    assert [e.seq for e in stored] == list(range(1, 1001))
    assert isinstance(parse_event(stored[-1].data), RunFinished)
    assert parse_event(stored[41].data) == MessageDelta(
        message_id="m", delta="t42 ", seq=42, run_id="r1"
    )
    assert 1 <= journal.flushes <= 20  # batches, never a commit per event
    await journal.aclose()


async def test_the_stored_log_keeps_what_the_capped_channel_keeps(store: SQLiteStore) -> None:
    journal = RunJournal(store, owner="me", flush_s=0.01, batch=10_000)
    journal.start()
    registry = LocalRunRegistry(max_run_bytes=64 * 1024, journal=journal)

    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, 400):
            publish(AgentNotice(code="n", message="x" * 1000, seq=seq, run_id="r1"))
        publish(RunFinished(answer="done", seq=400, run_id="r1"))

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    await registry.wait("r1")
    first_kept = registry.first_kept_seq("r1")
    assert first_kept > 1
    assert await store.event_bounds("r1") == (first_kept, 400)
    await journal.aclose()


@pytest.mark.parametrize("log_events", [True, False])
async def test_leases_of_active_runs_are_renewed(store: SQLiteStore, log_events: bool) -> None:
    """Leases are kept whether or not the events are logged."""
    await store.create_session(SessionRecord(id="s1", user_id="u"))
    await store.create_run(
        RunRecord(id="r1", session_id="s1", input="x", owner="me", lease_until=time.time() + 3)
    )
    journal = RunJournal(store, owner="me", lease_s=3.0, flush_s=0.01, log_events=log_events)
    journal.start()
    gate = asyncio.Event()
    registry = LocalRunRegistry(journal=journal)

    async def body(publish: Callable[[EventBase], None]) -> None:
        await gate.wait()
        publish(RunFinished(answer="done", seq=1, run_id="r1"))

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    before = await store.get_run("s1", "r1")
    assert before is not None and before.lease_until is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # renewed every lease_s / 3
        await asyncio.sleep(0.2)
        run = await store.get_run("s1", "r1")
        assert run is not None and run.status is RunStatus.RUNNING
        if run.lease_until is not None and run.lease_until > before.lease_until:
            break
    else:
        raise AssertionError("the lease was never renewed")
    gate.set()
    await registry.wait("r1")
    await journal.aclose()


async def test_with_log_events_off_nothing_is_written_but_the_run_is_served(
    store: SQLiteStore,
) -> None:
    """SAGE_EVENT_LOG_ENABLED=false: no event reaches the store and no
    transaction is spent on it; readers in this process still get every event."""
    journal = RunJournal(store, owner="me", flush_s=0.01, log_events=False)
    journal.start()
    registry = LocalRunRegistry(journal=journal)

    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, 50):
            publish(MessageDelta(message_id="m", delta=f"t{seq} ", seq=seq, run_id="r1"))
            await asyncio.sleep(0)
        publish(RunFinished(answer="done", seq=50, run_id="r1"))

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    read = [e.seq async for e in registry.subscribe("r1")]
    await registry.wait("r1")
    await asyncio.sleep(0.05)  # past a flush interval
    assert read == list(range(1, 51))
    assert await store.event_bounds("r1") is None
    assert journal.flushes == 0
    await journal.aclose()
    assert await store.event_bounds("r1") is None
