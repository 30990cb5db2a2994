"""A live run's events that the store's log holds leave memory but for a
short tail; any reader, joining late or fallen behind, still gets every
event, read back from the store; the cap still bounds the run's log
(issue 16: memory per live stream)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sagents.events import AgentNotice, EventBase, RunFinished
from sagents.runs.channel import RELEASE_KEEPS, EventsDropped
from sagents.runs.journal import RunJournal
from sagents.runs.local import LocalRunRegistry
from sagents.store import SQLiteStore

EVENT_BYTES = 1_500
"""About what one notice below holds (1,000 characters and the overhead)."""


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "sage.db") as opened:
        yield opened


class Body:
    """Publishes ``first`` notices, waits for ``go``, then the rest and the end."""

    def __init__(self, first: int, total: int, pause_s: float = 0.0) -> None:
        self.first, self.total, self.pause_s = first, total, pause_s
        self.go = asyncio.Event()
        self.published: list[EventBase] = []

    async def __call__(self, publish: Callable[[EventBase], None]) -> None:
        for seq in range(1, self.total):
            if seq == self.first + 1:
                await self.go.wait()
            self.send(publish, AgentNotice(code="n", message=f"{seq} " + "x" * 1000, seq=seq))
            await asyncio.sleep(self.pause_s)  # as tokens arrive: the writer gets turns
        self.send(publish, RunFinished(answer="done", seq=self.total))

    def send(self, publish: Callable[[EventBase], None], event: EventBase) -> None:
        event = event.model_copy(update={"run_id": "r1"})
        self.published.append(event)
        publish(event)


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():  # noqa: ASYNC110 - a state the registry does not announce
            await asyncio.sleep(0.01)


async def started(store: SQLiteStore, body: Body, **registry: int) -> LocalRunRegistry:
    journal = RunJournal(store, owner="me", flush_s=0.01)
    journal.start()
    reg = LocalRunRegistry(journal=journal, **registry)
    reg.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    return reg


async def test_stored_events_leave_memory_and_a_late_reader_gets_them_all(
    store: SQLiteStore,
) -> None:
    body = Body(first=300, total=400)
    reg = await started(store, body)
    # 300 events published and stored: only the tail stays in memory.
    tail = 2 * RELEASE_KEEPS * EVENT_BYTES
    await until(lambda: len(body.published) == 300 and reg.held_bytes() < tail)
    reader = reg.subscribe_batches("r1")
    first = await anext(reader)  # read back from the store
    assert first == body.published[: len(first)] and len(first) < 300
    body.go.set()
    got = first + [e for batch in [b async for b in reader] for e in batch]
    assert got == body.published
    assert reg.first_kept_seq("r1") == 1
    await reg.journal.aclose()  # type: ignore[union-attr]


async def test_a_reader_that_falls_behind_reads_the_released_events_back(
    store: SQLiteStore,
) -> None:
    body = Body(first=2, total=400)
    reg = await started(store, body)
    reader = reg.subscribe("r1")
    got = [await anext(reader), await anext(reader)]
    body.go.set()
    # The run goes on while this reader waits: most of it leaves memory.
    await until(lambda: len(body.published) == 400)
    await reg.wait("r1")
    got += [e async for e in reader]
    assert got == body.published


async def test_without_a_stored_log_a_live_run_holds_every_event(store: SQLiteStore) -> None:
    body = Body(first=300, total=400)
    journal = RunJournal(store, owner="me", flush_s=0.01, log_events=False)
    journal.start()
    reg = LocalRunRegistry(journal=journal)
    reg.start(run_id="r1", session_id="s1", user_id="u", body=body, on_cancel=lambda: None)
    await until(lambda: len(body.published) == 300)
    await asyncio.sleep(0.1)  # flushes due, had there been a log
    assert reg.held_bytes() > 300 * 1_000
    body.go.set()
    await reg.wait("r1")
    await journal.aclose()


async def test_the_cap_counts_released_events_and_the_store_keeps_what_it_keeps(
    store: SQLiteStore,
) -> None:
    body = Body(first=0, total=400, pause_s=0.001)  # released as it goes
    body.go.set()
    cap = 256 * 1024
    reg = await started(store, body, max_run_bytes=cap)
    await reg.wait("r1")
    first = reg.first_kept_seq("r1")
    # Past the cap the oldest go, to 3/4 of it: released ones count too.
    kept = 400 - first + 1
    assert cap * 3 // 4 <= kept * EVENT_BYTES * 1.1 and kept * EVENT_BYTES <= cap * 1.1
    assert await store.event_bounds("r1") == (first, 400)
    with pytest.raises(EventsDropped):
        _ = [e async for e in reg.subscribe("r1")]
    assert [e async for e in reg.subscribe("r1", first - 1)] == body.published[first - 1 :]
