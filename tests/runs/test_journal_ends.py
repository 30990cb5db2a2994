"""Runs that end together share a transaction, and a flush and a run's end
never hold the same run's events at once (issue 16)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from sagents.events import MessageDelta, RunFinished
from sagents.runs.journal import RunJournal
from sagents.store import RunRecord, RunStatus, SessionRecord, SessionStatus, SQLiteStore
from sagents.store.records import StoredEvent


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "sage.db") as opened:
        yield opened


async def begun(store: SQLiteStore, run_id: str) -> None:
    await store.create_session(SessionRecord(id=f"s_{run_id}", user_id="u"))
    await store.create_run(RunRecord(id=run_id, session_id=f"s_{run_id}", input="hi"))


def ender(
    store: SQLiteStore, run_id: str, got: list[int] | None = None
) -> Callable[[list[StoredEvent], dict[str, int]], Awaitable[None]]:
    async def end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        if got is not None:
            got.extend(e.seq for e in events)
        await store.end_run(
            run_id,
            RunStatus.FINISHED,
            session_id=f"s_{run_id}",
            session_status=SessionStatus.COMPLETED,
            events=events,
            floors=floors,
        )

    return end


async def test_runs_that_end_together_share_a_transaction(store: SQLiteStore) -> None:
    runs = [f"r{n}" for n in range(4)]
    for run_id in runs:
        await begun(store, run_id)
    journal = RunJournal(store, owner="me", flush_s=10, batch=100_000)
    for run_id in runs:
        journal.opened(run_id, lambda: 1)
        journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id=run_id))
    journal.opened("going_on", lambda: 1)
    journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id="going_on"))
    before = store.write_batches
    await asyncio.gather(
        *(
            journal.end_run(RunFinished(answer="a", seq=2, run_id=run_id), ender(store, run_id))
            for run_id in runs
        )
    )
    # All in flight at once: one transaction (one each, one after the
    # other, when an end held the journal's lock for its write).
    assert store.write_batches - before == 1
    for run_id in runs:
        assert [e.seq for e in await store.read_events(run_id)] == [1, 2]
        await journal.closed(run_id)
    # Nothing of theirs was left to write at the close; the run still going
    # on has its event written with its batch, not by the others' closes.
    assert store.write_batches - before == 1
    assert await store.read_events("going_on") == []
    await journal.aclose()
    assert [e.seq for e in await store.read_events("going_on")] == [1]


async def test_a_runs_end_waits_for_a_flush_holding_its_events(
    store: SQLiteStore, tmp_path: Path
) -> None:
    """The flush in flight fails: its events are pending again, and the
    run's end (which waited for it) writes them with the terminal event;
    had it not waited, the log would hold the terminal event and a gap."""
    await begun(store, "r1")
    journal = RunJournal(store, owner="me", flush_s=10, batch=100_000)
    journal.opened("r1", lambda: 1)
    for seq in (1, 2, 3):
        journal.append(MessageDelta(message_id="m", delta="t", seq=seq, run_id="r1"))
    side = sqlite3.connect(tmp_path / "sage.db", isolation_level=None)
    side.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON run_events BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    flushing = asyncio.ensure_future(journal.flush())
    await asyncio.sleep(0)  # the flush took the events and waits for its write
    got: list[int] = []
    end = ender(store, "r1", got)

    async def end_after_repair(events: list[StoredEvent], floors: dict[str, int]) -> None:
        side.execute("DROP TRIGGER refuse")
        await end(events, floors)

    await journal.end_run(RunFinished(answer="a", seq=4, run_id="r1"), end_after_repair)
    await flushing
    side.close()
    assert got == [1, 2, 3, 4]
    assert [e.seq for e in await store.read_events("r1")] == [1, 2, 3, 4]
    await journal.aclose()


async def test_a_flush_waits_for_the_runs_ends_in_flight(store: SQLiteStore) -> None:
    """A run cancelled again during its end publishes the terminal event
    while the end is in flight (``SAgent._stop``); a flush then must not
    write it before the end settles, or a failed end would leave the log
    with the terminal event and a gap before it."""
    await begun(store, "r1")
    journal = RunJournal(store, owner="me", flush_s=10, batch=100_000)
    journal.opened("r1", lambda: 1)
    for seq in (1, 2, 3):
        journal.append(MessageDelta(message_id="m", delta="t", seq=seq, run_id="r1"))
    gate = asyncio.Event()

    async def failing_end(events: list[StoredEvent], floors: dict[str, int]) -> None:
        await gate.wait()
        raise OSError("disk full")

    terminal = RunFinished(answer="a", seq=4, run_id="r1")
    ending = asyncio.ensure_future(journal.end_run(terminal, failing_end))
    await asyncio.sleep(0)  # the end took the run's events and waits
    journal.append(terminal)  # published while the end is in flight
    flushing = asyncio.ensure_future(journal.flush())
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert not flushing.done()
    assert await store.read_events("r1") == []
    gate.set()
    with pytest.raises(OSError):
        await ending
    await flushing  # writes the end's events, pending again, with the terminal one
    assert [e.seq for e in await store.read_events("r1")] == [1, 2, 3, 4]
    await journal.aclose()


async def test_a_runs_close_lets_its_published_end_go_without_a_write(store: SQLiteStore) -> None:
    """The terminal event end_run wrote is pending again once published;
    the close lets it go instead of flushing every run's events for it."""
    await begun(store, "r1")
    journal = RunJournal(store, owner="me", flush_s=10, batch=100_000)
    journal.opened("r1", lambda: 1)
    journal.opened("going_on", lambda: 1)
    journal.append(MessageDelta(message_id="m", delta="t", seq=1, run_id="going_on"))
    terminal = RunFinished(answer="a", seq=1, run_id="r1")
    await journal.end_run(terminal, ender(store, "r1"))
    journal.append(terminal)  # published after its write, as a run does
    before = store.write_batches
    assert await journal.closed("r1") is True
    assert store.write_batches == before
    assert await store.read_events("going_on") == []  # waits for its batch
    await journal.aclose()
    assert [e.seq for e in await store.read_events("going_on")] == [1]
    assert [e.seq for e in await store.read_events("r1")] == [1]  # written once
