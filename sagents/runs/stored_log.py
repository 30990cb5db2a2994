"""A finished run's events once they are durable: read from the store.

While a run executes, its events live in its ``EventChannel`` so live
readers get them without a store read. Once the run has ended and the event
log has written every one of them (``RunJournal.closed`` says so), holding
them in memory as well only costs: about 600 bytes per token for up to
``run_retention_s``, 60 MB after a thousand 100-token answers, and every
one of those objects is traversed by each full garbage collection of the
process (a 0.5-0.7 s pause, measured in the 1,000-stream bench). So the
registry swaps the channel for this stand-in, which answers the same reads
from the store's log.

Readers already attached keep the channel they hold until they finish; only
readers that come later read the store. The cap keeps its meaning: the store
deleted what the channel dropped, so a reader that asks for those gets the
same ``EventsDropped``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.events import EventBase
from sagents.runs.replay import stored_batches
from sagents.store.protocol import Store


class StoredLog:
    """The read side of a finished run's channel, served by the store."""

    closed = True
    retained_bytes = 0
    last_event: EventBase | None = None

    def __init__(self, store: Store, run_id: str, *, last_seq: int, first_kept_seq: int) -> None:
        self._store = store
        self._run_id = run_id
        self.last_seq = last_seq
        self.first_kept_seq = first_kept_seq

    def batches(self, after_seq: int = 0) -> AsyncIterator[list[EventBase]]:
        """Stored events with ``seq > after_seq``, up to the terminal one;
        ``EventsDropped`` for events the cap dropped."""
        return stored_batches(
            self._store, self._run_id, max(after_seq, 0), running=_ended, grace_s=0.0
        )

    async def subscribe(self, after_seq: int = 0) -> AsyncIterator[EventBase]:
        async for batch in self.batches(after_seq):
            for event in batch:
                yield event


async def _ended() -> bool:
    """The run is over: nothing more will be written."""
    return False
