"""The durable event log and run leases: the statements both stores share.

The statements go to a store's batch writer (``_writer``) or run inside the
caller's transaction (``append``, for recovery), so a batch of events, the
trimming of a run's oldest events and a lease renewal commit as one unit, with
one commit per flush (or fewer: see the writer) rather than one per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sagents.store import _rows
from sagents.store._sql import Many, Statement, Tx
from sagents.store.records import StoredEvent

_APPEND = (
    _rows.insert_sql("run_events", _rows.EVENT_COLUMNS) + " ON CONFLICT (run_id, seq) DO NOTHING"
)
"""Idempotent: a batch written twice (a retry after an unclear failure, a
late flush racing recovery's terminal event) keeps the first row of a seq."""


async def append(tx: Tx, events: Sequence[StoredEvent], floors: Mapping[str, int]) -> None:
    """Append ``events``; then drop each run's events below its floor (the
    first ``seq`` still kept once the run's log passed its cap)."""
    await tx.executemany(_APPEND, [_rows.event_row(e) for e in events])
    for run_id, floor in floors.items():
        await tx.execute(_TRIM, (run_id, floor))


READ = (
    f"SELECT {', '.join(_rows.EVENT_COLUMNS)} FROM run_events"
    " WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)
"""A page of a run's events after a ``seq`` (run_id, after_seq, limit)."""

BOUNDS = "SELECT MIN(seq) AS first, MAX(seq) AS last FROM run_events WHERE run_id = ?"
"""(first, last) ``seq`` kept for a run; NULLs when it has none."""

_TRIM = "DELETE FROM run_events WHERE run_id = ? AND seq < ?"

_RENEW = (
    "UPDATE runs SET lease_until = ?, owner = ? WHERE id = ? AND status IN ('running', 'waiting')"
)
"""A run another process already marked interrupted (its lease had expired)
stays so: the owner learns it lost the run (the row count is 0)."""


def statements(events: Sequence[StoredEvent], floors: Mapping[str, int]) -> list[Statement]:
    """``append`` as a list of statements, for a store's batch writer: the
    rows in one ``executemany`` (see ``_sql.Many``), then the trims."""
    appends: list[Statement] = []
    if events:
        appends.append(Many(_APPEND, [_rows.event_row(e) for e in events]))
    return appends + [(_TRIM, (run_id, floor)) for run_id, floor in floors.items()]


def renew_statements(run_ids: Sequence[str], owner: str, until: float) -> list[Statement]:
    """Extend the leases of the owner's runs that are still running (or
    waiting for an approval: the owner is alive and waits with them); the
    sum of the row counts is the number renewed."""
    return [Many(_RENEW, [(until, owner, run_id) for run_id in run_ids])]


DELETE_SESSION_EVENTS = (
    "DELETE FROM run_events WHERE run_id IN (SELECT runs.id FROM runs JOIN sessions"
    " ON sessions.id = runs.session_id WHERE sessions.id = ? AND sessions.user_id = ?)"
)
"""The events of a session's runs, deleted in the same transaction as the
session (run_events has no foreign key to cascade from, see migration 2)."""
