"""Fan-out of one run's events to any number of readers, with replay.

The channel keeps the run's whole event log, so a reader can join at any
point (``after_seq``) and get exactly what it missed, then follow live. A
reader that disconnects loses nothing and costs nothing: readers hold only
an index into the log. The producer never waits for readers.

Written by hand rather than with ``asyncio.Queue`` because a queue gives each
item to one consumer and forgets it; here every reader must see every event
and late readers must be able to replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sagents.events import EventBase


class EventChannel:
    def __init__(self) -> None:
        self._log: list[EventBase] = []
        self._closed = False
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_seq(self) -> int:
        return self._log[-1].seq if self._log else 0

    def publish(self, event: EventBase) -> None:
        """Append a stamped event (``seq`` must be ``len(log) + 1``)."""
        if self._closed:
            raise RuntimeError("publish on a closed channel")
        self._log.append(event)
        if self._waiters:
            self._wake()

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
        falls behind gracefully: the slower it is, the bigger its batches."""
        index = max(after_seq, 0)  # seq n lives at index n - 1
        while True:
            log = self._log
            if index < len(log):
                batch = log[index:]
                index += len(batch)
                yield batch
                continue
            if self._closed:
                return
            await self._wait()

    async def subscribe(self, after_seq: int = 0) -> AsyncIterator[EventBase]:
        """Events with ``seq > after_seq``, then live ones until the run ends."""
        index = max(after_seq, 0)
        while True:
            log = self._log
            while index < len(log):
                yield log[index]
                index += 1
            if self._closed:
                return
            await self._wait()

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
