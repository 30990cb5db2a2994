"""In-process run registry: asyncio tasks and in-memory event channels.

Finished runs stay resumable for ``retention_s`` (a client that lost its
connection right at the end can still read the terminal event); they are
swept lazily when new runs start, so there is no background timer to own.
With the durable event log on, a finished run whose events are all stored
no longer holds them: later readers read the store (``StoredLog``).
Memory is bounded twice: each run's log keeps about ``max_run_bytes`` (the
oldest events are dropped past it), and the finished runs' logs together keep
about ``max_total_bytes`` (past it the oldest finished runs are forgotten
before their retention ends).

Every run's log ends with a terminal event: if a body returns or raises
without publishing one, the registry publishes ``run.failed`` (or
``run.cancelled`` when a cancel was asked for), so no reader waits for an
end that never comes or mistakes a crashed run for a finished stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sagents.events import EventBase, RunCancelled, RunFailed, is_terminal
from sagents.runs.channel import Backfill, EventChannel
from sagents.runs.journal import RunJournal
from sagents.runs.registry import RunBody, RunInfo, RunSuspended, SessionBusy
from sagents.runs.replay import PAGE, read_after
from sagents.runs.stored_log import StoredLog

log = logging.getLogger(__name__)

SHUTDOWN_REASON = "server shutting down"
"""The cancel reason of the runs stopped by :meth:`LocalRunRegistry.aclose`."""


@dataclass(slots=True)
class _Run:
    run_id: str
    session_id: str
    user_id: str
    channel: EventChannel | StoredLog
    """The live channel; once the run ended and its log is durable, the
    store's copy (``StoredLog``)."""
    on_cancel: Callable[[], None]
    task: asyncio.Task[None] | None = None
    finished_at: float | None = None
    cancel_reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def info(self) -> RunInfo:
        return RunInfo(self.run_id, self.session_id, self.user_id, self.finished_at is not None)


class LocalRunRegistry:
    def __init__(
        self,
        retention_s: float = 900.0,
        *,
        max_run_bytes: int | None = None,
        max_total_bytes: int | None = None,
        journal: RunJournal | None = None,
    ) -> None:
        self.retention_s = retention_s
        self.journal = journal
        """Writes every event to the store's durable log (None: memory only)."""
        self.max_run_bytes = max_run_bytes
        self.max_total_bytes = max_total_bytes
        self._finished_bytes = 0
        """What the finished runs' logs hold together (they no longer grow)."""
        self._runs: dict[str, _Run] = {}
        self._active_by_session: dict[str, str] = {}
        self._finished: deque[_Run] = deque()
        """Finished runs in the order they finished, so a sweep stops at the
        first one still within retention instead of scanning every run."""

    def start(
        self,
        *,
        run_id: str,
        session_id: str,
        user_id: str,
        body: RunBody,
        on_cancel: Callable[[], None],
        first_seq: int = 1,
    ) -> RunInfo:
        active = self._active_by_session.get(session_id)
        if active is not None:
            raise SessionBusy(session_id, active)
        self._sweep()
        journal = self.journal
        logged = journal is not None and journal.log_events
        channel = EventChannel(
            self.max_run_bytes,
            first_seq=first_seq,
            backfill=self._backfill(run_id) if logged else None,
        )
        run = _Run(run_id, session_id, user_id, channel, on_cancel)
        self._runs[run_id] = run
        self._active_by_session[session_id] = run_id
        if journal is not None:
            written = channel.release_through if logged else None
            journal.opened(run_id, lambda: channel.first_kept_seq, first_seq, written)
        run.task = asyncio.create_task(self._drive(run, channel, body), name=f"sage-run-{run_id}")
        return run.info()

    def _backfill(self, run_id: str) -> Backfill:
        """Reads a live run's released events back from the store's log."""
        assert self.journal is not None
        store = self.journal.store

        async def backfill(after_seq: int, up_to: int) -> list[EventBase]:
            return await read_after(store, run_id, after_seq, min(up_to - after_seq, PAGE))

        return backfill

    def _publisher(self, channel: EventChannel) -> Callable[[EventBase], None]:
        """The run's publish function: to its channel, and to the durable
        log when there is one. Without a journal it is the channel's own
        method, adding no layer to the per-token path (nor when the journal
        keeps leases only: ``SAGE_EVENT_LOG_ENABLED=false``)."""
        journal = self.journal
        if journal is None or not journal.log_events:
            return channel.publish
        to_channel = channel.publish
        to_log = journal.append

        def publish(event: EventBase) -> None:
            to_channel(event)
            to_log(event)

        return publish

    async def _drive(self, run: _Run, channel: EventChannel, body: RunBody) -> None:
        publish = self._publisher(channel)
        suspended = False
        try:
            await body(publish)
        except RunSuspended:
            suspended = True  # waits for an approval: it has not ended
        except BaseException:
            # The body owns error handling and emits the terminal event; if
            # it still raised, log it so it is never lost silently.
            log.exception("run %s body raised", run.run_id)
        finally:
            if not suspended:
                self._ensure_terminal(run, channel, publish)
            channel.close()
            run.finished_at = time.monotonic()
            self._finished.append(run)
            if self._active_by_session.get(run.session_id) == run.run_id:
                del self._active_by_session[run.session_id]
            if self.journal is not None and await self._log_end(run.run_id):
                # Durable: later readers read the store; the events leave
                # memory once the readers attached now are done with them.
                run.channel = StoredLog(
                    self.journal.store,
                    run.run_id,
                    last_seq=channel.last_seq,
                    first_kept_seq=channel.first_kept_seq,
                )
            self._finished_bytes += run.channel.retained_bytes
            try:
                await asyncio.shield(self._ended(run))
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("run %s: could not release it", run.run_id)
            run.done.set()

    async def _log_end(self, run_id: str) -> bool:
        """Make the run's log durable before ``wait`` reports its end; True
        when every event is in the store. The write is shielded: a cancel of
        this task (shutdown) stops the wait, never the write, which
        ``RunJournal.aclose`` then waits for."""
        assert self.journal is not None
        try:
            return await asyncio.shield(self.journal.closed(run_id))
        except asyncio.CancelledError:
            return False
        except Exception:
            log.exception("run %s: could not write its event log", run_id)
            return False

    def _ensure_terminal(
        self, run: _Run, channel: EventChannel, publish: Callable[[EventBase], None]
    ) -> None:
        """Publish the terminal event a body failed to publish, stamped as
        the run's emitter would have stamped it."""
        last = channel.last_event
        if last is not None and is_terminal(last):
            return
        # Stamped by construction, as the run's emitter would have stamped it.
        stamps: dict[str, Any] = {
            "seq": channel.last_seq + 1,
            "session_id": run.session_id,
            "run_id": run.run_id,
            "trace_id": last.trace_id if last is not None else "",
            "ts": time.time(),
        }
        event: EventBase
        if run.cancel_reason is not None:
            event = RunCancelled(reason=run.cancel_reason, **stamps)
        else:
            event = RunFailed(
                error_type="InternalError",
                message=f"the run ended without reporting how; see the server log "
                f"for run {run.run_id}",
                **stamps,
            )
        publish(event)

    def _sweep(self) -> None:
        """Forget finished runs past their retention, then the oldest ones
        while the finished logs hold more than ``max_total_bytes``."""
        cutoff = time.monotonic() - self.retention_s
        finished = self._finished
        budget = self.max_total_bytes
        while finished and (
            (finished[0].finished_at or 0.0) < cutoff
            # The run that just ended stays whatever it holds: its readers
            # are the ones most likely to resume right now.
            or (budget is not None and self._finished_bytes > budget and len(finished) > 1)
        ):
            run = finished.popleft()
            self._finished_bytes -= run.channel.retained_bytes
            del self._runs[run.run_id]

    def held_bytes(self) -> int:
        """Approximate bytes of events every run (live or finished) holds in
        memory: what is not durable yet, and a short tail of what is."""
        return sum(run.channel.retained_bytes for run in self._runs.values())

    def get(self, run_id: str) -> RunInfo | None:
        run = self._runs.get(run_id)
        return run.info() if run else None

    def active_for_session(self, session_id: str) -> RunInfo | None:
        run_id = self._active_by_session.get(session_id)
        return self._runs[run_id].info() if run_id else None

    def cancel(self, run_id: str, reason: str) -> bool:
        run = self._runs.get(run_id)
        if run is None or run.finished_at is not None or run.task is None:
            return False
        if run.cancel_reason is None:
            run.cancel_reason = reason
            run.on_cancel()
            run.task.cancel()
        return True

    def cancel_reason(self, run_id: str) -> str | None:
        run = self._runs.get(run_id)
        return run.cancel_reason if run else None

    def subscribe(self, run_id: str, after_seq: int = 0) -> AsyncIterator[EventBase]:
        # The channel's own generator, not a wrapper around it: every event
        # of a run passes through here, so each layer costs per token.
        run = self._runs.get(run_id)
        return run.channel.subscribe(after_seq) if run else _nothing()

    def subscribe_batches(self, run_id: str, after_seq: int = 0) -> AsyncIterator[list[EventBase]]:
        run = self._runs.get(run_id)
        return run.channel.batches(after_seq) if run else _nothing()

    def last_seq(self, run_id: str) -> int:
        run = self._runs.get(run_id)
        return run.channel.last_seq if run else 0

    def first_kept_seq(self, run_id: str) -> int:
        run = self._runs.get(run_id)
        return run.channel.first_kept_seq if run else 1

    async def reserve(self, session_id: str, run_id: str) -> None:
        active = self._active_by_session.get(session_id)
        if active is not None:
            raise SessionBusy(session_id, active)

    async def find_active(self, session_id: str) -> str | None:
        return self._active_by_session.get(session_id)

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        return self.cancel(run_id, reason)

    async def wait_for_events(self, run_id: str, at_most_s: float) -> None:
        """No other process announces its writes here: wait out ``at_most_s``."""
        await asyncio.sleep(at_most_s)

    async def _ended(self, run: _Run) -> None:
        """After a run ended and its log is durable; for subclasses."""

    async def wait(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            await run.done.wait()

    async def aclose(self) -> None:
        active = [r for r in self._runs.values() if r.finished_at is None]
        for run in active:
            self.cancel(run.run_id, SHUTDOWN_REASON)
        for run in active:
            await run.done.wait()


async def _nothing() -> AsyncIterator[Any]:
    return
    yield
