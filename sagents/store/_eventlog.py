"""The durable event log and run leases: the statements both stores share.

Each function runs inside the caller's transaction (``Tx``), so a batch of
events, the trimming of a run's oldest events and a lease renewal commit as
one unit, with one commit per flush rather than one per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sagents.store import _rows
from sagents.store._sql import Tx
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
        await tx.execute("DELETE FROM run_events WHERE run_id = ? AND seq < ?", (run_id, floor))


async def read(tx: Tx, run_id: str, after_seq: int, limit: int) -> list[StoredEvent]:
    rows = await tx.fetch(
        f"SELECT {', '.join(_rows.EVENT_COLUMNS)} FROM run_events"
        " WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (run_id, after_seq, limit),
    )
    return [_rows.event_from(r) for r in rows]


async def bounds(tx: Tx, run_id: str) -> tuple[int, int] | None:
    """(first, last) ``seq`` kept for the run, or None when it has none."""
    rows = await tx.fetch(
        "SELECT MIN(seq) AS first, MAX(seq) AS last FROM run_events WHERE run_id = ?",
        (run_id,),
    )
    if not rows or rows[0]["first"] is None:
        return None
    return int(rows[0]["first"]), int(rows[0]["last"])


async def renew(tx: Tx, run_ids: Sequence[str], owner: str, until: float) -> int:
    """Extend the leases of the owner's runs that are still running (or
    waiting for an approval: the owner is alive and waits with them); the
    number renewed. A run another process already marked interrupted (its
    lease had expired) stays so: the owner learns it lost the run."""
    renewed = 0
    for run_id in run_ids:
        renewed += await tx.execute(
            "UPDATE runs SET lease_until = ?, owner = ? WHERE id = ?"
            " AND status IN ('running', 'waiting')",
            (until, owner, run_id),
        )
    return renewed


DELETE_SESSION_EVENTS = (
    "DELETE FROM run_events WHERE run_id IN (SELECT runs.id FROM runs JOIN sessions"
    " ON sessions.id = runs.session_id WHERE sessions.id = ? AND sessions.user_id = ?)"
)
"""The events of a session's runs, deleted in the same transaction as the
session (run_events has no foreign key to cascade from, see migration 2)."""
