"""A run's events read back from the store's durable log.

For a run this process does not hold in memory: one that ran before a
restart, one whose in-memory log was forgotten after ``run_retention_s``, or
one another replica executes. The reader pages through the stored events in
``seq`` order and, while the run is still running somewhere, polls for the
ones its owner writes next, until the terminal event. A run whose process
died gets its terminal event from recovery (``run.failed``, error type
``RunInterrupted``) once its lease expires, so such a reader ends too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sagents.events import EventBase, is_terminal, parse_stored
from sagents.runs.channel import EventsDropped
from sagents.store.protocol import Store

PAGE = 500
"""Events per read: a replay of a long run is many short reads, not one
response held in memory."""


async def stored_batches(
    store: Store,
    run_id: str,
    after_seq: int = 0,
    *,
    running: Callable[[], Awaitable[bool]],
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
    poll_s: float = 0.2,
    grace_s: float = 5.0,
) -> AsyncIterator[list[EventBase]]:
    """Stored events with ``seq > after_seq``, in batches, until the terminal one.

    ``wait(poll_s)`` waits for more to be written: a sleep, or until the
    registry hears that the owner wrote (Redis). ``running`` tells whether the
    run is still running (per the store). After
    it says no, the reader still waits ``grace_s`` for the owner's last flush
    (the store records a run's end before its terminal event is written),
    then stops. Raises ``EventsDropped`` at a gap: events trimmed by the cap.
    """
    wanted = after_seq
    quiet_since: float | None = None
    while True:
        batch = await read_after(store, run_id, wanted)
        if batch:
            wanted = batch[-1].seq
            yield batch
            if is_terminal(batch[-1]):
                return
            quiet_since = None
            continue
        if not await running():
            now = time.monotonic()
            quiet_since = quiet_since or now
            if now - quiet_since >= grace_s:
                return
        await wait(poll_s)


async def read_after(
    store: Store, run_id: str, after_seq: int, limit: int = PAGE
) -> list[EventBase]:
    """At most ``limit`` stored events from ``after_seq + 1`` on, up to the
    first gap (the next read reports it); ``EventsDropped`` when the first
    is missing (the cap deleted it)."""
    rows = await store.read_events(run_id, after_seq, limit)
    if rows and rows[0].seq != after_seq + 1:
        raise EventsDropped(after_seq, rows[0].seq)
    events: list[EventBase] = []
    for row in rows:
        if row.seq != after_seq + len(events) + 1:
            break
        events.append(parse_stored(row.data))
    return events
