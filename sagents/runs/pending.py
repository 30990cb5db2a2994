"""The event log's unwritten events, kept per run.

A run's end takes only its own run's events (``RunJournal.end_run``), and
with 1,000 streams the pending events of hundreds of runs wait together: a
single list scanned on every end cost 13 % of the server's CPU in the
1,000-stream bench (``_take``, sampled by ``bench.sampler``). Kept per run,
an end takes its events in O(1) and a flush still gets every run's events,
each run's in the order they were appended.
"""

from __future__ import annotations

from sagents.events import EventBase


class PendingEvents:
    """Unwritten events grouped by run, with their total count."""

    def __init__(self) -> None:
        self._by_run: dict[str, list[EventBase]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._by_run

    def append(self, event: EventBase) -> None:
        run = self._by_run.get(event.run_id)
        if run is None:
            self._by_run[event.run_id] = [event]
        else:
            run.append(event)
        self._count += 1

    def take(self, run_id: str) -> list[EventBase]:
        """The run's pending events, no longer pending."""
        events = self._by_run.pop(run_id, [])
        self._count -= len(events)
        return events

    def take_all(self) -> list[EventBase]:
        """Every pending event (each run's in order), no longer pending."""
        events = [e for run in self._by_run.values() for e in run]
        self._by_run = {}
        self._count = 0
        return events

    def put_back(self, events: list[EventBase], limit: int) -> list[EventBase]:
        """Make ``events`` (taken earlier) pending again, before what was
        appended since; past ``limit`` events the oldest are dropped.
        Returns the dropped ones."""
        merged = events + self.take_all()
        dropped = max(len(merged) - limit, 0)
        for event in merged[dropped:]:
            self.append(event)
        return merged[:dropped]
