"""Approvals in the store: the statements both backends share.

A tool call that needs a person's approval is a row of ``approvals``
(migration 3) from the moment its run starts waiting; the decision is one
conditional UPDATE (``decision IS NULL``), so two decisions racing (two
browser tabs, two replicas, a decision and the timeout) cannot both win:
the second changes no row and is told so. Each function runs inside the
caller's transaction (``Tx``); the stores only wrap them.

The run and its session show ``waiting`` while any of the run's approvals
is pending, and go back to ``running`` when the last one is decided.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sagents.store._sql import RowLike, Tx
from sagents.store.records import ApprovalRecord, RunStatus, SessionStatus, now

COLUMNS = (
    "run_id",
    "call_id",
    "session_id",
    "tool",
    "arguments",
    "reason",
    "requested_at",
    "expires_at",
    "decision",
    "decided_by",
    "decided_at",
    "edited_arguments",
    "decision_reason",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM approvals"
_INSERT = (
    f"INSERT INTO approvals ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    " ON CONFLICT (run_id, call_id) DO NOTHING"
)
_PENDING_OF_RUN = "SELECT 1 FROM approvals WHERE run_id = ? AND decision IS NULL"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _row(approval: ApprovalRecord) -> tuple[Any, ...]:
    return (
        approval.run_id,
        approval.call_id,
        approval.session_id,
        approval.tool,
        json.dumps(approval.arguments, ensure_ascii=False),
        approval.reason,
        approval.requested_at,
        approval.expires_at,
        approval.decision,
        approval.decided_by,
        approval.decided_at,
        _json(approval.edited_arguments),
        approval.decision_reason,
    )


def _from(row: RowLike) -> ApprovalRecord:
    edited = row["edited_arguments"]
    return ApprovalRecord(
        run_id=row["run_id"],
        call_id=row["call_id"],
        session_id=row["session_id"],
        tool=row["tool"],
        arguments=json.loads(row["arguments"]),
        reason=row["reason"],
        requested_at=float(row["requested_at"]),
        expires_at=float(row["expires_at"]),
        decision=row["decision"],
        decided_by=row["decided_by"],
        decided_at=None if row["decided_at"] is None else float(row["decided_at"]),
        edited_arguments=None if edited is None else json.loads(edited),
        decision_reason=row["decision_reason"],
    )


async def request(tx: Tx, approval: ApprovalRecord) -> None:
    """Record the pending call and show its run and session ``waiting``.

    Idempotent: a resumed run that waits again on a call already recorded
    keeps the first row (and its ``expires_at``)."""
    await tx.execute(_INSERT, _row(approval))
    await tx.execute(
        "UPDATE runs SET status = ? WHERE id = ? AND status IN (?, ?)",
        (
            RunStatus.WAITING.value,
            approval.run_id,
            RunStatus.RUNNING.value,
            RunStatus.WAITING.value,
        ),
    )
    await tx.execute(
        "UPDATE sessions SET status = ? WHERE id = ?",
        (SessionStatus.WAITING.value, approval.session_id),
    )


async def decide(
    tx: Tx,
    run_id: str,
    call_id: str,
    decision: str,
    *,
    by: str,
    arguments: Any = None,
    reason: str | None = None,
) -> ApprovalRecord | None:
    """Take the decision if none was taken yet; the decided row, or None
    when the call is unknown or already decided."""
    changed = await tx.execute(
        "UPDATE approvals SET decision = ?, decided_by = ?, decided_at = ?,"
        " edited_arguments = ?, decision_reason = ?"
        " WHERE run_id = ? AND call_id = ? AND decision IS NULL",
        (decision, by, now(), _json(arguments), reason, run_id, call_id),
    )
    if not changed:
        return None
    return await get(tx.fetch, run_id, call_id)


Fetch = Callable[[str, Sequence[Any]], Awaitable[list[RowLike]]]
"""A read: a store's plain ``_fetch`` (no transaction, no write lock; a
waiting run polls with it) or a transaction's ``fetch``."""


async def get(fetch: Fetch, run_id: str, call_id: str) -> ApprovalRecord | None:
    rows = await fetch(f"{_SELECT} WHERE run_id = ? AND call_id = ?", (run_id, call_id))
    return _from(rows[0]) if rows else None


async def of_run(fetch: Fetch, run_id: str, *, pending_only: bool) -> list[ApprovalRecord]:
    where = " AND decision IS NULL" if pending_only else ""
    rows = await fetch(
        f"{_SELECT} WHERE run_id = ?{where} ORDER BY requested_at, call_id", (run_id,)
    )
    return [_from(r) for r in rows]


async def settle(tx: Tx, run_id: str, session_id: str) -> bool:
    """The run goes back to ``running`` (with its session) once none of its
    approvals is pending; whether it did."""
    if await tx.fetch(_PENDING_OF_RUN, (run_id,)):
        return False
    changed = await tx.execute(
        "UPDATE runs SET status = ? WHERE id = ? AND status = ?",
        (RunStatus.RUNNING.value, run_id, RunStatus.WAITING.value),
    )
    await tx.execute(
        "UPDATE sessions SET status = ? WHERE id = ? AND status = ?",
        (SessionStatus.RUNNING.value, session_id, SessionStatus.WAITING.value),
    )
    return bool(changed)


async def claim(tx: Tx, run_id: str, owner: str, until: float, at: float) -> bool:
    """Take over a waiting run whose owner no longer vouches for it (its
    lease passed, or it let go at shutdown); whether this caller got it.
    The conditional UPDATE lets only one of several claimants win."""
    changed = await tx.execute(
        "UPDATE runs SET owner = ?, lease_until = ? WHERE id = ? AND status = ?"
        " AND (lease_until IS NULL OR lease_until < ?)",
        (owner, until, run_id, RunStatus.WAITING.value, at),
    )
    return bool(changed)


async def release(tx: Tx, run_id: str, owner: str) -> None:
    """The owner stops vouching for its waiting run (it shuts down): the run
    stays ``waiting`` and the next decision resumes it elsewhere at once."""
    await tx.execute(
        "UPDATE runs SET lease_until = NULL WHERE id = ? AND owner = ? AND status = ?",
        (run_id, owner, RunStatus.WAITING.value),
    )
