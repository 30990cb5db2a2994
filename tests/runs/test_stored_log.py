"""A finished run whose events are all in the store's log stops holding them
in memory: later readers read the store, readers already attached read on
from the channel, and the cap means the same (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sagents.events import AgentNotice, EventBase, RunFinished
from sagents.runs.channel import EventsDropped
from sagents.runs.journal import RunJournal
from sagents.runs.local import LocalRunRegistry
from sagents.store import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "sage.db") as opened:
        yield opened


def body_of(  # type: ignore[no-untyped-def]
    run_id: str,
    events: int,
    published: list[EventBase],
    gate: asyncio.Event | None = None,
    gate_at: int = 2,
):
    async def body(publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, events):
            event = AgentNotice(code="n", message=f"{seq} " + "x" * 1000, seq=seq, run_id=run_id)
            published.append(event)
            publish(event)
            if gate is not None and seq == gate_at:
                await gate.wait()
        end = RunFinished(answer="done", seq=events, run_id=run_id)
        published.append(end)
        publish(end)

    return body


def start(reg: LocalRunRegistry, run_id: str, body) -> None:  # type: ignore[no-untyped-def]
    reg.start(
        run_id=run_id, session_id=f"s_{run_id}", user_id="u", body=body, on_cancel=lambda: None
    )


@pytest.mark.parametrize("log_events", [True, False])
async def test_stored_runs_hold_nothing_so_the_memory_budget_forgets_none(
    store: SQLiteStore, log_events: bool
) -> None:
    journal = RunJournal(store, owner="me", flush_s=0.01, log_events=log_events)
    journal.start()
    reg = LocalRunRegistry(max_total_bytes=150_000, journal=journal)
    published: dict[str, list[EventBase]] = {}
    for number in range(1, 6):  # ~100 KB of events each
        run_id = f"r{number}"
        start(reg, run_id, body_of(run_id, 100, published.setdefault(run_id, [])))
        await reg.wait(run_id)
    kept = [n for n in range(1, 6) if reg.get(f"r{n}") is not None]
    if log_events:
        # Each is read back from the store, event for event.
        assert kept == [1, 2, 3, 4, 5]
        for run_id, events in published.items():
            assert [e async for e in reg.subscribe(run_id)] == events
            assert [e for b in [b async for b in reg.subscribe_batches(run_id, 97)] for e in b] == (
                events[97:]
            )
            assert reg.last_seq(run_id) == 100 and reg.first_kept_seq(run_id) == 1
    else:
        # Memory is all they have: past the budget the oldest are forgotten.
        assert len(kept) < 5
    await journal.aclose()


async def test_a_reader_attached_before_the_end_reads_on_from_its_channel(
    store: SQLiteStore,
) -> None:
    journal = RunJournal(store, owner="me", flush_s=0.01)
    journal.start()
    reg = LocalRunRegistry(journal=journal)
    gate = asyncio.Event()
    published: list[EventBase] = []
    start(reg, "r1", body_of("r1", 50, published, gate))
    await asyncio.sleep(0)
    reader = reg.subscribe("r1")
    got = [await anext(reader), await anext(reader)]
    gate.set()
    await reg.wait("r1")
    got += [e async for e in reader]
    assert got == published
    await journal.aclose()


async def test_the_cap_means_the_same_once_read_from_the_store(store: SQLiteStore) -> None:
    journal = RunJournal(store, owner="me", flush_s=0.01)
    journal.start()
    reg = LocalRunRegistry(max_run_bytes=64 * 1024, journal=journal)
    published: list[EventBase] = []
    start(reg, "r1", body_of("r1", 400, published))
    await reg.wait("r1")
    first = reg.first_kept_seq("r1")
    assert first > 1 and await store.event_bounds("r1") == (first, 400)
    with pytest.raises(EventsDropped) as dropped:
        _ = [e async for e in reg.subscribe("r1")]
    assert dropped.value.first_kept == first
    assert [e async for e in reg.subscribe("r1", first - 1)] == published[first - 1 :]
    assert [e async for e in reg.subscribe("r1", 400)] == []  # past the end: nothing
    await journal.aclose()


async def test_a_run_whose_log_could_not_be_written_keeps_its_events(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sage.db")
    await store.open()
    journal = RunJournal(store, owner="me", flush_s=0.01)
    journal.start()
    reg = LocalRunRegistry(journal=journal)
    gate = asyncio.Event()
    published: list[EventBase] = []
    start(reg, "r1", body_of("r1", 20, published, gate))
    await asyncio.sleep(0.05)
    await store.close()  # the store goes away before the run ends
    gate.set()
    await reg.wait("r1")
    # Its channel still serves every event: only the store's copy is gone.
    assert [e async for e in reg.subscribe("r1")] == published


async def test_a_run_that_lost_unwritten_events_keeps_its_channel(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sage.db")
    await store.open()
    journal = RunJournal(store, owner="me", flush_s=0.01, max_pending=5)
    journal.start()
    reg = LocalRunRegistry(journal=journal)
    gate = asyncio.Event()
    published: list[EventBase] = []
    await store.close()  # down while the run starts: past 5 unwritten, the oldest go
    start(reg, "r1", body_of("r1", 20, published, gate, gate_at=12))
    await asyncio.sleep(0.1)
    await store.open()  # back before the run ends: the rest is written
    gate.set()
    await reg.wait("r1")
    assert [e.seq for e in await store.read_events("r1")][-1] == 20
    assert [e async for e in reg.subscribe("r1")] == published
    await journal.aclose()
    await store.close()
