"""The event log's pending events, kept per run: a run's end takes its own
events and leaves the others; a flush takes every run's, each run's in
order; events put back after a failed write come before newer ones, and
past the limit the oldest are dropped."""

from __future__ import annotations

from sagents.events import MessageDelta
from sagents.runs.pending import PendingEvents


def delta(run_id: str, seq: int) -> MessageDelta:
    return MessageDelta(message_id="m", delta="t", seq=seq, run_id=run_id)


def keys(events: list[MessageDelta] | list[object]) -> list[tuple[str, int]]:
    return [(e.run_id, e.seq) for e in events]  # type: ignore[attr-defined]


def test_a_run_takes_its_own_events_and_leaves_the_others() -> None:
    pending = PendingEvents()
    for run_id, seq in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2)]:
        pending.append(delta(run_id, seq))
    assert len(pending) == 5 and "b" in pending
    assert keys(pending.take("b")) == [("b", 1), ("b", 2)]
    assert len(pending) == 3 and "b" not in pending
    assert pending.take("b") == []
    assert keys(pending.take_all()) == [("a", 1), ("a", 2), ("c", 1)]
    assert len(pending) == 0 and "a" not in pending


def test_events_put_back_come_before_newer_ones_and_the_oldest_go_past_the_limit() -> None:
    pending = PendingEvents()
    pending.append(delta("a", 1))
    pending.append(delta("a", 2))
    taken = pending.take_all()
    pending.append(delta("a", 3))  # appended while the write was failing
    assert pending.put_back(taken, limit=10) == []
    assert keys(pending.take_all()) == [("a", 1), ("a", 2), ("a", 3)]

    for seq in (1, 2, 3):
        pending.append(delta("a", seq))
    assert keys(pending.put_back([delta("a", 0)], limit=2)) == [("a", 0), ("a", 1)]
    assert keys(pending.take_all()) == [("a", 2), ("a", 3)] and len(pending) == 0
