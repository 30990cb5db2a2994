"""Start-up recovery: what a dead process left ``running``, made consistent.

A kill -9 (or an OOM kill, a power cut) can stop a run between two commits:
after the assistant message that calls tools was committed and before every
result was. Marking the run ``interrupted`` is not enough then, because the
stored history would hold a tool call without a result, and OpenAI (like most
compatible servers) rejects every later request of that session with a 400.
So in the same transaction as the status change, every such call gets a tool
message saying it was interrupted. One transaction means a crash during
recovery itself leaves nothing half done: the next start finds the runs still
``running`` and does it all again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sagents.events import TERMINAL_TYPES, RunFailed
from sagents.store import _eventlog, _rows
from sagents.store._sql import Tx
from sagents.store.records import (
    MessageRecord,
    RunStatus,
    SessionStatus,
    StoredEvent,
    new_id,
    now,
)

log = logging.getLogger(__name__)

INTERRUPTED_RUN_ERROR = "interrupted: the process stopped while this run was active"
INTERRUPTED_TOOL_RESULT = (
    "Interrupted: the server stopped while this tool call was running, so it has no result. "
    "Whether it took effect is unknown."
)
"""The content of a tool result written by recovery. It says the outcome is
unknown on purpose: the call may have done its work before the process died,
and the model should check rather than assume either way."""
RECOVERED_KIND = "recovered"
"""``kind`` of a tool message written by recovery (with ``interrupted`` set),
so a client or an export can tell it from a result the tool produced and from
the "cancelled" result of a cancelled run (``kind`` is None there)."""

_INSERT_MESSAGE = _rows.insert_sql("messages", _rows.MESSAGE_COLUMNS)


@dataclass(frozen=True, slots=True)
class Recovered:
    runs: int
    sessions: int
    tool_results: int
    """Tool calls that got an "interrupted" result."""


_EXPIRED = "status = 'running' AND (lease_until IS NULL OR lease_until < ?)"
"""A run left ``running`` whose owner stopped renewing its lease. A run
without a lease was written before leases existed (migration 2) or by a
process that does not renew; either way no live process vouches for it."""


async def recover(db: Tx, at: float) -> Recovered:
    """Mark runs whose lease expired before ``at`` as ``interrupted``, with
    the sessions they leave running, and give their unanswered tool calls a
    result. The caller wraps this in one transaction.

    Only expired runs: a run another live process executes (a second process
    on the same SQLite file, another replica on PostgreSQL) renews its lease
    and is left alone, and so is its session. ``updated_at`` is kept: it
    records the user's last activity, which orders the session list.
    ``ended_at`` stays NULL because the real end time is unknown.
    """
    running = await db.fetch(f"SELECT id, session_id FROM runs WHERE {_EXPIRED}", (at,))
    results: list[MessageRecord] = []
    for row in running:
        results += await _unanswered(db, row["session_id"], row["id"])
    await db.executemany(_INSERT_MESSAGE, [_rows.message_row(m) for m in results])
    await _eventlog.append(db, [await _terminal(db, r["session_id"], r["id"]) for r in running], {})
    runs = 0
    for row in running:
        runs += await db.execute(
            "UPDATE runs SET status = ?, error = COALESCE(error, ?), lease_until = NULL"
            " WHERE id = ? AND status = 'running'",
            (RunStatus.INTERRUPTED.value, INTERRUPTED_RUN_ERROR, row["id"]),
        )
    # A waiting run is not interrupted: a decision resumes it (on whichever
    # process receives it, ``sagents.resume``). Its expired lease is only
    # cleared, so that the decision's process may take it at once.
    await db.execute(
        "UPDATE runs SET lease_until = NULL WHERE status = ? AND lease_until < ?",
        (RunStatus.WAITING.value, at),
    )
    # Every running session without a running run: a live run's session is
    # left alone (its owner vouches for it), and begin_run/end_run change a
    # run and its session in one transaction, so none is caught in between.
    sessions = await db.execute(
        "UPDATE sessions SET status = ? WHERE status = 'running' AND NOT EXISTS"
        " (SELECT 1 FROM runs WHERE runs.session_id = sessions.id AND runs.status = 'running')",
        (SessionStatus.INTERRUPTED.value,),
    )
    return Recovered(runs, sessions, len(results))


async def _terminal(db: Tx, session_id: str, run_id: str) -> StoredEvent:
    """The terminal event the dead process never logged, one past the last
    logged event, so a reader following the run's log (from any replica,
    after a restart) sees it end instead of waiting forever. If the log
    already ends with a terminal event (the process died just after writing
    it), that ``seq`` is taken and the append keeps the original."""
    rows = await db.fetch(
        "SELECT seq, type FROM run_events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
    )
    last = int(rows[0]["seq"]) if rows else 0
    if rows and rows[0]["type"] in TERMINAL_TYPES:
        last -= 1
    event = RunFailed(
        error_type="RunInterrupted",
        message=INTERRUPTED_RUN_ERROR,
        seq=last + 1,
        session_id=session_id,
        run_id=run_id,
        ts=now(),  # not ``at``: an exclusive recovery passes infinity
    )
    return StoredEvent(run_id, event.seq, event.type, event.as_json())


async def _unanswered(db: Tx, session_id: str, run_id: str) -> list[MessageRecord]:
    """An "interrupted" result for every tool call of the run that has none.

    Reads through the ``(session_id, seq)`` index: only the crashed run's
    session is scanned, never the whole messages table.
    """
    rows = await db.fetch(
        "SELECT role, tool_calls, tool_call_id, agent FROM messages"
        " WHERE session_id = ? AND run_id = ? ORDER BY seq",
        (session_id, run_id),
    )
    answered = {row["tool_call_id"] for row in rows if row["role"] == "tool"}
    out: list[MessageRecord] = []
    stamp = now()
    for row in rows:
        if row["role"] != "assistant" or row["tool_calls"] is None:
            continue
        for call_id, name in _calls(row["tool_calls"]):
            if call_id in answered:
                continue
            answered.add(call_id)  # a repeated id is answered once
            out.append(
                MessageRecord(
                    id=new_id("msg"),
                    session_id=session_id,
                    role="tool",
                    content=INTERRUPTED_TOOL_RESULT,
                    tool_call_id=call_id,
                    name=name,
                    run_id=run_id,
                    agent=row["agent"],
                    kind=RECOVERED_KIND,
                    interrupted=True,
                    created_at=stamp,
                    completed_at=stamp,
                )
            )
    return out


def _calls(raw: str) -> list[tuple[str, str]]:
    """(id, function name) of each call in a stored ``tool_calls`` column.

    Defensive: recovery runs before the server accepts requests, so a row it
    cannot read must be skipped (and logged), never stop the start-up.
    """
    try:
        calls: Any = json.loads(raw)
    except ValueError:
        log.warning("recovery skipped a message whose tool_calls is not JSON")
        return []
    out: list[tuple[str, str]] = []
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            continue
        function = call.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        out.append((call["id"], name if isinstance(name, str) else ""))
    return out
