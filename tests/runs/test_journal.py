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
from sagents.store import RunRecord, RunStatus, SessionRecord, SessionStatus, SQLiteStore
from sagents.store.records import StoredEvent


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


async def _begun(store: SQLiteStore) -> None:
    await store.create_session(SessionRecord(id="s1", user_id="u"))
    await store.create_run(RunRecord(id="r1", session_id="s1", input="hi"))


async def test_a_run_ends_in_one_commit_with_its_pending_events(store: SQLiteStore) -> None:
    """end_run writes what is pending, the run's end and its terminal event
    together; the terminal event, published after, is not written again."""
    await _begun(store)
    journal = RunJournal(store, owner="me", flush_s=60, batch=10_000)  # never on its own
    journal.start()
    registry = LocalRunRegistry(journal=journal)
    before: list[int] = []

    async def end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        await store.end_run(
            "r1",
            RunStatus.FINISHED,
            session_id="s1",
            session_status=SessionStatus.COMPLETED,
            events=events,
            floors=floors,
        )

    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, 10):
            publish(MessageDelta(message_id="m", delta="t", seq=seq, run_id="r1"))
        before.append(store.write_batches)
        finished = RunFinished(answer="done", seq=10, run_id="r1")
        await journal.end_run(finished, end)
        publish(finished)

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    await registry.wait("r1")
    assert store.write_batches - before[0] == 1  # the close found nothing left to write
    assert journal.flushes == 1
    assert [e.seq for e in await store.read_events("r1")] == list(range(1, 11))
    run = await store.get_run("s1", "r1")
    assert run is not None and run.status is RunStatus.FINISHED
    await journal.aclose()


async def test_a_failed_end_keeps_the_pending_events_and_forgets_the_terminal(
    store: SQLiteStore,
) -> None:
    await _begun(store)
    journal = RunJournal(store, owner="me", flush_s=60, batch=10_000)
    journal.start()
    registry = LocalRunRegistry(journal=journal)

    async def failing(events: list[StoredEvent], floors: dict[str, int]) -> None:
        raise OSError("disk full")

    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, 4):
            publish(MessageDelta(message_id="m", delta="t", seq=seq, run_id="r1"))
        with pytest.raises(OSError):
            await journal.end_run(RunFinished(answer="done", seq=4, run_id="r1"), failing)
        # The run reports its failure instead, under the seq the lost end had.
        publish(AgentNotice(code="failed", message="store", seq=4, run_id="r1"))
        publish(RunFinished(answer="", seq=5, run_id="r1"))

    registry.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    await registry.wait("r1")
    stored = await store.read_events("r1")
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert stored[3].type == "agent.notice"
    await journal.aclose()


async def test_an_event_after_a_runs_end_waits_for_its_batch(store: SQLiteStore) -> None:
    """The end of one run empties the pending list and the next run's first
    event refills it: that event gathers a batch for ``flush_s`` like any
    first event, instead of being flushed at once by the end's wake-up."""
    journal = RunJournal(store, owner="me", flush_s=1.0, batch=10_000)
    journal.start()
    journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id="r1"))
    await asyncio.sleep(0.05)  # the writer woke and is gathering a batch
    finished = RunFinished(answer="done", seq=2, run_id="r1")
    await journal.end_run(finished, store.append_events)
    journal.append(finished)  # published after its end committed: wakes the writer
    journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id="r2"))
    before = store.write_batches
    await asyncio.sleep(0.3)
    assert store.write_batches == before  # r2's event is gathering, not flushed alone
    for _ in range(100):
        if await store.read_events("r2"):
            break
        await asyncio.sleep(0.05)
    assert [e.seq for e in await store.read_events("r2")] == [1]
    assert [e.seq for e in await store.read_events("r1")] == [1, 2]
    await journal.aclose()


@pytest.mark.parametrize("yields", [0, 1, 2, 3])
async def test_aclose_right_after_an_event_woke_the_writer_returns(
    store: SQLiteStore, yields: int
) -> None:
    """The last run's events wake the writer just before shutdown cancels
    it; whatever the interleaving, the cancel must end it (not be lost)."""
    journal = RunJournal(store, owner="me", flush_s=0.05)
    journal.start()
    await asyncio.sleep(0.01)  # the writer is idle, waiting to be woken
    journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id="r1"))
    for _ in range(yields):
        await asyncio.sleep(0)
    closing = asyncio.ensure_future(journal.aclose())
    done, _ = await asyncio.wait([closing], timeout=5)  # waits without cancelling
    if not done:  # the cancel was lost: a second one ends the writer
        closing.cancel()
        await journal.aclose()
    assert done, "aclose() did not return: the writer dropped its cancel"
    assert [e.seq for e in await store.read_events("r1")] == [1]


async def test_the_log_lets_go_of_the_events_shared_json_once_written(
    store: SQLiteStore,
) -> None:
    """The channel keeps events for replay; their JSON text is kept only
    until the log, its last reader, has written it."""
    journal = RunJournal(store, owner="me", flush_s=60)
    event = MessageDelta(message_id="m", delta="t", seq=1, run_id="r1")
    text = event.as_json()  # a live stream sent it
    journal.append(event)
    assert event.as_json() is text  # still shared until the log has it
    await journal.flush()
    assert [e.data for e in await store.read_events("r1")] == [text]
    again = event.as_json()
    assert again == text and again is not text  # dumped anew: the text was let go
    assert event.as_json() is not again  # and a late reader's dump is not kept
    await journal.aclose()


async def test_with_log_events_off_a_runs_end_writes_no_event(store: SQLiteStore) -> None:
    """SAGE_EVENT_LOG_ENABLED=false: the run's end is written, its terminal
    event (and anything pending) is not."""
    await _begun(store)
    journal = RunJournal(store, owner="me", flush_s=60, log_events=False)
    journal.start()

    async def end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        await store.end_run(
            "r1",
            RunStatus.FINISHED,
            session_id="s1",
            session_status=SessionStatus.COMPLETED,
            events=events,
            floors=floors,
        )

    await journal.end_run(RunFinished(answer="done", seq=1, run_id="r1"), end)
    run = await store.get_run("s1", "r1")
    assert run is not None and run.status is RunStatus.FINISHED
    assert await store.event_bounds("r1") is None
    await journal.aclose()
