"""The durable side of the runs this process executes: their event log and
their leases.

Event log. Every published event is handed to :meth:`RunJournal.append`
(synchronous, on the run's hot path: it only keeps a reference). A small
writer task writes what accumulated to the store in one transaction when
``batch`` events are waiting or ``flush_s`` has passed since the first of
them, and at once when a run ends, so a run's terminal event is durable
before anyone waits on the run. That is a commit per batch, never a commit
per token. A run that ends (finished, failed or cancelled) writes its end,
what is pending and its terminal event in one transaction (:meth:`end_run`),
so the flush at its close usually finds nothing left to write. If the store fails, the batch is
kept and retried at the next flush; past ``max_pending`` events the oldest
are dropped (logged), and a reader that needs them gets the same
``events_dropped`` answer as for the in-memory cap.

Cap. The stored log of a run keeps what its in-memory channel keeps: when the
channel drops its oldest events (``SAGE_RUN_LOG_MAX_BYTES``), the next flush
deletes the same ones from the store, so the cap and its 410 answer mean the
same before and after a restart.

Release. After each write, every run with events in it hears the last
``seq`` of its that the store now has (``opened``'s ``written``: its
channel's ``release_through``), and its channel lets those events go from
memory but for a short tail; readers read them back from the store.

Off (``SAGE_EVENT_LOG_ENABLED=false``, ``log_events=False``): the registry
publishes to the channel alone and nothing is written but the leases, so a
run costs no event-log commit; a resume the channel cannot serve (after a
restart, past the retention) answers 410 as it did before the log existed.

Leases. Every third of ``lease_s`` the writer renews the lease of every run
this process executes and asks the store to recover runs whose lease expired
(their process died); so a dead process's runs are ended by whichever
process notices first, within a third of a lease of the expiry, and a live
one's never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sagents.events import EventBase
from sagents.runs.pending import PendingEvents
from sagents.store.protocol import Store
from sagents.store.records import StoredEvent

log = logging.getLogger(__name__)


class RunJournal:
    def __init__(
        self,
        store: Store,
        *,
        owner: str,
        lease_s: float = 30.0,
        flush_s: float = 0.2,
        batch: int = 512,
        max_pending: int = 100_000,
        log_events: bool = True,
    ) -> None:
        self.store = store
        self.log_events = log_events
        """False: the registry hands no event here (leases only)."""
        self.owner = owner
        self.lease_s = lease_s
        self.flush_s = flush_s
        self.batch = batch
        self.max_pending = max_pending
        self.flushes = 0
        """Transactions written so far (for tests and the bench)."""
        self._pending = PendingEvents()
        self._runs: dict[str, Callable[[], int]] = {}
        """Active runs → their channel's first kept ``seq``."""
        self._floors: dict[str, int] = {}
        self._logged: dict[str, int] = {}
        """Runs whose terminal event :meth:`end_run` wrote → its ``seq``: the
        same event, published after, is not written again."""
        self._written_to: dict[str, Callable[[int], None]] = {}
        """Active runs → told the last seq of theirs each write stored."""
        self._lost: set[str] = set()
        """Runs some of whose events were dropped unwritten (``max_pending``):
        only their channel still has those."""
        self._wake = asyncio.Event()
        self._first_at = 0.0
        """When the oldest pending event arrived (``time.monotonic``)."""
        self._flush_lock = asyncio.Lock()
        """Held by a flush from before it waits for the runs' ends in
        flight until it wrote (see :meth:`end_run`)."""
        self._ending = 0
        """Runs' ends in flight."""
        self._changed = asyncio.Event()
        """Set when a flush or a run's end finished."""
        self._task: asyncio.Task[None] | None = None
        self.on_flushed: Callable[[set[str]], Awaitable[None]] | None = None
        """Told which runs got events after each write (the Redis registry
        wakes other replicas' readers with it)."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="sage-run-journal")

    def lease_until(self) -> float:
        """The lease a run starting now gets."""
        return time.time() + self.lease_s

    # the runs

    def opened(
        self,
        run_id: str,
        first_kept: Callable[[], int],
        floor: int = 1,
        written: Callable[[int], None] | None = None,
    ) -> None:
        """Start logging a run whose channel keeps from ``first_kept()``;
        ``floor`` is its first event (past 1 for a run resumed after an
        approval: its earlier events are stored already and must stay).
        ``written(seq)`` is told, after each write, the run's last event the
        store now has (the channel lets the durable ones go from memory)."""
        self._runs[run_id] = first_kept
        self._floors[run_id] = floor
        if written is not None:
            self._written_to[run_id] = written

    def append(self, event: EventBase) -> None:
        pending = self._pending
        pending.append(event)
        # The first event starts the flush_s clock; a full batch ends it.
        if len(pending) == 1:
            self._first_at = time.monotonic()
            self._wake.set()
        elif len(pending) >= self.batch:
            self._wake.set()

    async def closed(self, run_id: str) -> bool:
        """The run ended: its logged events are durable when this returns
        True (False: the log is off, or a write failed or dropped some).

        Usually they are already: :meth:`end_run` wrote them with the run's
        end, and the terminal event, pending again once published, is
        simply let go. Only when some are still pending (the end failed, or
        the run had no ``end_run``) or a flush that may hold some is in
        flight does this flush; other runs' pending events wait for their
        batch."""
        try:
            logged = self._logged.get(run_id)
            if logged is not None and not self._flush_lock.locked():
                unwritten = [e for e in self._pending.take(run_id) if e.seq > logged]
                if unwritten:
                    self._requeue(unwritten)
            # The terminal event, published after the end's write, may have
            # made the channel drop more (the cap): its floor is written too.
            if self._flush_lock.locked() or run_id in self._pending or self._due_floors(run_id):
                await self.flush()
            return self.log_events and run_id not in self._pending and run_id not in self._lost
        finally:
            self._runs.pop(run_id, None)
            self._floors.pop(run_id, None)
            self._logged.pop(run_id, None)
            self._written_to.pop(run_id, None)
            self._lost.discard(run_id)

    async def end_run(
        self,
        terminal: EventBase,
        end: Callable[[list[StoredEvent], dict[str, int]], Awaitable[None]],
    ) -> None:
        """Write the run's end, its pending events and ``terminal`` in one
        transaction: ``end`` is the store's ``end_run`` given these events and
        floors. ``terminal`` is stamped but not yet published (a client must
        not see the run end before the store says so); once it is, the
        journal does not write it again. If ``end`` fails, the events stay
        pending and ``terminal`` is forgotten (it will not be published).
        With the log off, only the run's end is written.

        Runs end together: the ends of several runs are in flight at once
        (each takes only its own run's events), so the store's batch writer
        commits them in one transaction. A flush, which takes every run's
        events, runs alone: an end waits for it and it for the ends, so a
        run's events are never in two writes at once, and a failed write's
        events, pending again, are written before any later event of their
        run (the log never has a gap that a later row hides)."""
        if not self.log_events:
            await end([], {})
            return
        run_id = terminal.run_id
        while self._flush_lock.locked():
            await self._changes()
        self._ending += 1
        try:
            events = self._pending.take(run_id)
            floors = self._due_floors(run_id)
            try:
                await end(_rows(events) + _rows([terminal]), floors)
            except BaseException:
                self._requeue(events)
                raise
            self.flushes += 1
            self._floors.update(floors)
            _written(events)
            self._logged[run_id] = terminal.seq
            await self._announce([*events, terminal])
        finally:
            self._ending -= 1
            self._changed.set()

    # writing

    async def flush(self) -> None:
        try:
            async with self._flush_lock:
                while self._ending:  # the runs' ends in flight settle first
                    await self._changes()
                await self._flush()
        finally:
            self._changed.set()

    async def _flush(self) -> None:
        events = self._pending.take_all()
        if self._logged:
            logged = self._logged
            events = [e for e in events if e.seq > logged.get(e.run_id, 0)]
        floors = self._due_floors()
        if not events and not floors:
            return
        rows = _rows(events)
        try:
            await self.store.append_events(rows, floors)
        except Exception as exc:
            log.warning("event log: could not write %d event(s): %r", len(rows), exc)
            self._requeue(events)
            return
        self.flushes += 1
        self._floors.update(floors)
        self._stored(events)
        await self._announce(events)

    async def _changes(self) -> None:
        """Until a flush or a run's end finished."""
        self._changed.clear()
        await self._changed.wait()

    async def _announce(self, events: Sequence[EventBase]) -> None:
        if self.on_flushed is not None and events:
            try:
                await self.on_flushed({e.run_id for e in events})
            except Exception as exc:  # readers fall back to polling
                log.warning("event log: could not announce a flush: %r", exc)

    def _due_floors(self, only: str | None = None) -> dict[str, int]:
        """The runs (or run ``only``) whose channel dropped events since
        their last trim → their new floor."""
        floors: dict[str, int] = {}
        if not self.log_events:  # nothing stored, nothing to trim
            return floors
        runs = self._runs.items() if only is None else [(only, self._runs.get(only))]
        for run_id, first_kept in runs:
            if first_kept is None:
                continue
            floor = first_kept()
            if floor > self._floors.get(run_id, 1):
                floors[run_id] = floor
        return floors

    def _stored(self, events: list[EventBase]) -> None:
        """A write stored ``events``: their shared JSON can go, and each
        run's channel hears its last stored seq. A run's events are written
        in order and never twice at once (see :meth:`end_run`), so what is
        stored of a run is gap-free up to that seq, unless some were dropped
        unwritten (``max_pending``): such a run keeps everything in memory."""
        _written(events)
        last: dict[str, int] = {}
        for event in events:
            last[event.run_id] = event.seq
        told = self._written_to
        for run_id, seq in last.items():
            written = told.get(run_id)
            if written is not None and run_id not in self._lost:
                written(seq)

    def _requeue(self, events: list[EventBase]) -> None:
        lost = self._pending.put_back(events, self.max_pending)
        if lost:
            self._lost.update(e.run_id for e in lost)
            log.warning("event log: dropped the %d oldest unwritten event(s)", len(lost))

    async def _loop(self) -> None:
        tick = self.lease_s / 3
        next_tick = time.monotonic() + tick
        while True:
            # Idle: sleep until an event arrives or the lease tick is due.
            await self._wait(next_tick - time.monotonic())
            # Let a batch gather until flush_s after its oldest event. Not
            # from the wake-up: the pending list may have been emptied (a
            # run's end_run took it) and refilled since (the next run began),
            # and flushing that newcomer at once would cost a commit.
            while 0 < len(self._pending) < self.batch:
                due = self._first_at + self.flush_s - time.monotonic()
                if due <= 0:
                    break
                await self._wait(due)
            try:
                await self.flush()
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + tick
                    await self.store.renew_leases(list(self._runs), self.owner, self.lease_until())
                    # A dead process's runs end at most a third of a lease
                    # after their lease expired, on whichever process looks first.
                    await self.store.recover()
            except Exception:
                # A store that is down must not end the writer: it retries.
                log.exception("run journal: store call failed")

    async def _wait(self, seconds: float) -> None:
        """Until woken or ``seconds`` passed. ``asyncio.timeout``, not
        ``wait_for``: on Python 3.11, a ``wait_for`` whose event was set just
        before the task was cancelled returns normally and drops the cancel,
        so ``aclose`` (which cancels this task right after the last run's
        events woke it) waited forever."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wake.wait()
        self._wake.clear()

    async def aclose(self) -> None:
        """Write what is pending and stop the writer."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()


def _rows(events: Sequence[EventBase]) -> list[StoredEvent]:
    return [StoredEvent(e.run_id, e.seq, e.type, e.as_json()) for e in events]


def _written(events: Sequence[EventBase]) -> None:
    """The log is the last reader of an event's shared JSON (live streams
    sent it already): let it go (``EventBase.drop_json``)."""
    for event in events:
        event.drop_json()
