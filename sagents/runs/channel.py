"""Fan-out of one run's events to any number of readers, with replay.

The channel keeps the run's event log, so a reader can join at any point
(``after_seq``) and get exactly what it missed, then follow live. A reader
that disconnects loses nothing and costs nothing: readers hold only an index
into the log. The producer never waits for readers.

The log is bounded (``max_bytes``, approximate): past it the oldest events
are dropped, a quarter of the cap at a time so the cost is amortised. A
reader that needs a dropped event gets ``EventsDropped`` instead of a log
with a silent hole; what the run said is still in the session's messages.
Dropping the oldest keeps what a resuming client needs most (the recent end
and the terminal event) and needs no knowledge of what an event means, so a
durable event log can later take the same policy or lift it.

Written by hand rather than with ``asyncio.Queue`` because a queue gives each
item to one consumer and forgets it; here every reader must see every event
and late readers must be able to replay.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

import pydantic_core

from sagents.events import EventBase, MessageDelta, ReasoningDelta, ToolArgsDelta

EVENT_OVERHEAD = 512
"""Bytes an event costs besides its strings: the model instance and its field
dict (measured at ~600 bytes for a ``message.delta`` including its ids, whose
strings are counted separately here)."""

DELTA_OVERHEAD = EVENT_OVERHEAD + 128
"""A delta event's cost besides its ``delta``: the overhead and its short
fixed strings (type, ids, kind), counted once instead of on every token."""

_DELTAS = frozenset({MessageDelta, ReasoningDelta, ToolArgsDelta})


def retained_size(event: EventBase) -> int:
    """Approximate memory an event holds: its strings' lengths plus a fixed
    overhead. Called once per published event, so it stays cheap: the
    per-token deltas are measured by their text alone, and only the rare
    events with a dict or list field (``tool.called``'s arguments,
    ``run.started``'s options) are serialised to be measured."""
    if type(event) in _DELTAS:
        return DELTA_OVERHEAD + len(event.delta)  # type: ignore[attr-defined]
    size = EVENT_OVERHEAD
    for value in event.__dict__.values():
        kind = type(value)
        if kind is str:
            size += len(value)
        elif kind is dict or kind is list:
            size += len(pydantic_core.to_json(value, fallback=str))
    return size


class EventsDropped(LookupError):
    """A reader wants events the capped run log no longer keeps."""

    def __init__(self, after_seq: int, first_kept: int) -> None:
        super().__init__(
            f"events {after_seq + 1}–{first_kept - 1} of this run are no longer kept "
            f"(the run log is capped); the first kept is {first_kept}"
        )
        self.after_seq = after_seq
        self.first_kept = first_kept


Backfill = Callable[[int, int], Awaitable[list[EventBase]]]
"""``backfill(after_seq, up_to)``: the run's stored events from
``after_seq + 1`` on, in order, up to ``up_to`` or the first gap
(``EventsDropped`` when the first is missing)."""

RELEASE_KEEPS = 32
"""Events a release leaves in memory at the end of the log, so that a reader
a little behind the run (the usual live stream) never reads the store."""


class EventChannel:
    def __init__(
        self,
        max_bytes: int | None = None,
        *,
        first_seq: int = 1,
        backfill: Backfill | None = None,
    ) -> None:
        self._log: list[EventBase] = []
        self._dropped = first_seq - 1
        """Events 1…_dropped are gone (the cap dropped them, or a run resumed
        after an approval starts past 1: its earlier events are in the
        store's log only, which the route reads)."""
        self._base = first_seq - 1
        """``_log[0]`` has seq ``_base + 1``. Events ``_dropped + 1`` …
        ``_base`` were released (``release_through``): durable, read back
        through ``backfill``."""
        self._backfill = backfill
        self._released: deque[tuple[int, int]] = deque()
        """(last seq, bytes) of each release, oldest first: the cap counts
        released events too, so it bounds the run's stored log as before."""
        self._released_bytes = 0
        self._bytes = 0
        self._max_bytes = max_bytes
        self._closed = False
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_seq(self) -> int:
        return self._base + len(self._log)

    @property
    def last_event(self) -> EventBase | None:
        return self._log[-1] if self._log else None

    @property
    def first_kept_seq(self) -> int:
        """The oldest event still kept (``last_seq + 1`` when none is)."""
        return self._dropped + 1

    @property
    def retained_bytes(self) -> int:
        """Approximate memory held by the kept events."""
        return self._bytes

    def publish(self, event: EventBase) -> None:
        """Append a stamped event (``seq`` must be ``last_seq + 1``)."""
        if self._closed:
            raise RuntimeError("publish on a closed channel")
        self._log.append(event)
        self._bytes += retained_size(event)
        if self._max_bytes is not None and self._bytes + self._released_bytes > self._max_bytes:
            self._trim(self._max_bytes * 3 // 4)
        if self._waiters:
            self._wake()

    def _trim(self, target: int) -> None:
        """Drop the oldest events until at most ``target`` bytes are kept,
        released ones first; the newest event always stays (it may be the
        terminal one)."""
        released = self._released
        while released and self._bytes + self._released_bytes > target:
            self._dropped, size = released.popleft()
            self._released_bytes -= size
        log = self._log
        drop = 0
        freed = 0
        while self._bytes + self._released_bytes - freed > target and drop < len(log) - 1:
            freed += retained_size(log[drop])
            drop += 1
        if drop:  # every released event went first
            del log[:drop]
            self._base += drop
            self._dropped = self._base
            self._bytes -= freed

    def release_through(self, seq: int) -> None:
        """Events up to ``seq`` are durable: let them go from memory, but for
        the last ``RELEASE_KEEPS``. Readers that need them later read them
        back (``backfill``); for the cap and ``first_kept_seq`` they are
        still kept. Without a backfill nothing is released."""
        if self._backfill is None:
            return
        log = self._log
        release = min(seq - self._base, len(log) - RELEASE_KEEPS)
        if release <= 0:
            return
        freed = 0
        for event in log[:release]:
            freed += retained_size(event)
        del log[:release]
        self._base += release
        self._bytes -= freed
        self._released.append((self._base, freed))
        self._released_bytes += freed

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        # One future per waiting reader, so a reader that is cancelled while
        # it waits cancels only its own future, never another reader's.
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def batches(self, after_seq: int = 0) -> AsyncIterator[list[EventBase]]:
        """Events with ``seq > after_seq`` in batches: everything already
        logged, then whatever arrived while the reader was away, until the
        run ends. A reader that writes each batch at once (the SSE stream)
        pays its per-write cost once per batch, not once per event, and
        falls behind gracefully: the slower it is, the bigger its batches.

        Events released from memory (durable, ``release_through``) are read
        back from the store first. Raises ``EventsDropped`` when the next
        event the reader needs was dropped, at the start or later if it
        falls that far behind."""
        wanted = max(after_seq, 0)  # the last seq this reader has
        while True:
            start = wanted - self._base
            if start < 0:
                stored = await self._read_back(wanted)
                wanted += len(stored)
                yield stored
                continue
            log = self._log
            if start < len(log):
                batch = log[start:]
                wanted += len(batch)
                yield batch
                continue
            if self._closed:
                return
            await self._wait()

    async def subscribe(self, after_seq: int = 0) -> AsyncIterator[EventBase]:
        """Events with ``seq > after_seq``, then live ones until the run ends
        (``EventsDropped`` as for ``batches``)."""
        async for batch in self.batches(after_seq):
            for event in batch:
                yield event

    async def _read_back(self, wanted: int) -> list[EventBase]:
        """The released events after ``wanted`` (at least one), from the
        store; ``EventsDropped`` for what the cap dropped or the store lacks."""
        if wanted < self._dropped or self._backfill is None:
            raise EventsDropped(wanted, self.first_kept_seq)
        stored = await self._backfill(wanted, self._base)
        if not stored:
            raise EventsDropped(wanted, self._base + 1)
        return stored

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # The reader went away: forget its future (cancelling the reader
            # cancelled the future itself, and only that one).
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
