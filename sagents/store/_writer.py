"""One writer per store: every write of every run, grouped into few transactions.

A turn's writes (the run's start, each completed message, its end, the event
log's flushes, lease renewals) are small and come from many coroutines. Each
used to be its own transaction, several awaited round trips to the database
apiece (``BEGIN``, each statement, ``COMMIT``). Here a caller hands its write
(a list of statements that must land together) to :meth:`BatchWriter.submit`
and waits; one task takes every write that is waiting and has the backend run
them as one transaction in one call (``run``): a single round trip to
SQLite's thread, one commit for however many writes piled up while the last
batch was in flight. No write waits for company: an idle store runs a lone
write at once, so batching adds no latency; under load it removes commits.

Durability is the caller's as before: ``submit`` returns only after the
transaction holding the write committed, so "committed on return" still
holds for every store method that says so.

Order. Writes run in the order they were submitted, across batches too, so a
run's messages follow its ``begin_run`` and precede its ``end_run`` in the
database as in the program.

Isolation of failures. ``run`` gives each write its own outcome: a write that
fails (a duplicate id) is undone alone and its caller gets the error; the
others of the batch commit. A failure of the transaction itself (``COMMIT``
refused, the database gone) goes to every caller of the batch.

Cancellation. A caller that is cancelled while waiting stops waiting, not the
write: a write that was submitted runs to its end (commits or fails), as the
stores' shielded transactions did before. :meth:`aclose` waits for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Op = TypeVar("Op")

Outcome = list[int] | BaseException
"""What ``run`` reports for one write: each statement's changed-row count,
or the exception that undid the write."""

MAX_BATCH = 256
"""Writes per transaction at most: bounds one transaction's time and size
(and a failed batch's blast radius) under a very large backlog."""


class BatchWriter(Generic[Op]):
    """Queues writes and runs them in batches through ``run``, one at a time."""

    def __init__(
        self,
        run: Callable[[list[Op]], Awaitable[Sequence[Outcome]]],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self._name = name
        self._max_batch = max_batch
        self._queue: list[tuple[Op, asyncio.Future[list[int]]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions run so far (for tests: batching is observable)."""
        self.writes = 0
        """Writes run so far."""

    async def submit(self, op: Op) -> list[int]:
        """Run ``op`` in the next batch; its statements' row counts once committed."""
        if self._closing:
            raise RuntimeError("store is not open; call open() first")
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self._name)
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        self._wake.set()
        # Awaited directly: a cancelled caller cancels only this future; the
        # loop still runs the op and skips the future it finds done.
        return await future

    async def aclose(self) -> None:
        """Stop taking writes, run the ones queued, and end the task."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _loop(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                outcomes = await self._run([op for op, _ in batch])
            except asyncio.CancelledError:
                # The loop is going away (event loop shutdown): nobody may
                # be left waiting for an answer that will never come.
                gone = RuntimeError("the store's writer stopped")
                for _, future in batch + self._queue:
                    if not future.done():
                        future.set_exception(gone)
                raise
            except Exception as exc:
                outcomes = [exc] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
