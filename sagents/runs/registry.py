"""The active runs: their cancel handles and their event fan-out.

This is the one piece of process state a multi-replica deployment has to
share, so it sits behind a small interface: the HTTP layer and ``SAgent``
talk to a ``RunRegistry`` and never to asyncio tasks directly. The default
``LocalRunRegistry`` keeps everything in this process; ``RedisRunRegistry``
adds what replicas share: the per-session lock and cancels sent to the
replica that runs the run. The synchronous methods answer for the runs of
this process; the ``async`` ones (``reserve``, ``find_active``,
``request_cancel``) for every replica's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sagents.events import EventBase

if TYPE_CHECKING:
    from sagents.runs.journal import RunJournal


class SessionBusy(Exception):
    """A session already has a running run; a second one would interleave history."""

    def __init__(self, session_id: str, run_id: str) -> None:
        super().__init__(f"session {session_id} already has a running run ({run_id})")
        self.session_id = session_id
        self.run_id = run_id


class RunSuspended(Exception):
    """Raised by a run's body that stops without ending: it waits for an
    approval and the server shuts down. The registry then publishes no
    terminal event (the run goes on when a decision resumes it)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} is suspended while it waits for an approval")
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    session_id: str
    user_id: str
    finished: bool
    trace_id: str = ""
    """The run's trace id (32 hex digits), set by ``SAgent.start``."""


RunBody = Callable[[Callable[[EventBase], None]], Coroutine[Any, Any, None]]
"""A run's body: given a publish function, it publishes the run's events."""


class RunRegistry(Protocol):
    journal: RunJournal | None
    """Where the runs' events are made durable; None keeps them in memory only."""

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
        """Register and start a run. Raises ``SessionBusy`` if the session has one.

        ``first_seq`` is the ``seq`` of its first event: more than 1 for a run
        resumed after an approval, whose earlier events are in the store.

        Registration is synchronous so that two concurrent requests cannot
        both pass the busy check. ``on_cancel`` is called the moment a cancel
        is requested, before the run's task sees it.
        """
        ...

    def get(self, run_id: str) -> RunInfo | None: ...

    def active_for_session(self, session_id: str) -> RunInfo | None: ...

    def cancel(self, run_id: str, reason: str) -> bool:
        """Ask a run to stop; False if it is not running."""
        ...

    def cancel_reason(self, run_id: str) -> str | None: ...

    def subscribe(self, run_id: str, after_seq: int = 0) -> AsyncIterator[EventBase]:
        """The run's events after ``after_seq``: replay, then live, until it ends
        (always with a terminal event). Raises ``EventsDropped`` when an event
        the reader needs is no longer kept."""
        ...

    def subscribe_batches(self, run_id: str, after_seq: int = 0) -> AsyncIterator[list[EventBase]]:
        """The same events as ``subscribe``, grouped into what was available
        at each read, for readers that write a batch at once."""
        ...

    def last_seq(self, run_id: str) -> int: ...

    def first_kept_seq(self, run_id: str) -> int:
        """The oldest event of the run still kept for replay (1 unless the
        run's log passed its cap and dropped its oldest events)."""
        ...

    async def reserve(self, session_id: str, run_id: str) -> None:
        """Take the session's one-run lock for ``run_id`` before ``start``;
        raises ``SessionBusy`` if a run of any replica holds it. ``start``
        right after (no await between) registers the run under it."""
        ...

    async def find_active(self, session_id: str) -> str | None:
        """The id of the session's running run, on whichever replica."""
        ...

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        """``cancel`` for a run on any replica: delivered to its owner."""
        ...

    async def wait_for_events(self, run_id: str, at_most_s: float) -> None:
        """Until more of the run's durable log may have been written (by any
        replica), or ``at_most_s``: how a reader of the stored log waits."""
        ...

    async def wait(self, run_id: str) -> None:
        """Until the run's body has returned."""
        ...

    async def aclose(self) -> None:
        """Cancel every active run and wait for them to end."""
        ...
