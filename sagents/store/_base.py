"""What the SQLite and PostgreSQL stores share: the statements and the
methods that only compose them.

A backend provides four things: ``_fetch`` (a read), ``_atomic`` (a list of
statements that land together, through the store's :class:`BatchWriter`),
``_in_tx`` (a read-modify-write transaction, for recovery and deletes) and
``ORDER`` (the column that keeps insertion order: SQLite's ``rowid``,
PostgreSQL's ``pos``). Statements are written once with ``?`` placeholders;
the PostgreSQL store turns them into ``%s`` (``_sql.pg``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from sagents.store import _approvals, _eventlog, _rows
from sagents.store._recovery import Recovered
from sagents.store._sql import RowLike, Statement, Tx
from sagents.store._writer import BatchWriter
from sagents.store.records import (
    ApprovalRecord,
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    StoredEvent,
    TaskRecord,
    now,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

INSERT_SESSION = _rows.insert_sql("sessions", _rows.SESSION_COLUMNS)
INSERT_RUN = _rows.insert_sql("runs", _rows.RUN_COLUMNS)
INSERT_MESSAGE = _rows.insert_sql("messages", _rows.MESSAGE_COLUMNS)
UPSERT_TASK = _rows.insert_sql("tasks", _rows.TASK_COLUMNS) + (
    " ON CONFLICT (session_id, id) DO UPDATE SET title = excluded.title,"
    " description = excluded.description, status = excluded.status,"
    " depends_on = excluded.depends_on, result = excluded.result,"
    " run_id = excluded.run_id, updated_at = excluded.updated_at"
)
SELECT_SESSION = _rows.select_sql("sessions", _rows.SESSION_COLUMNS)
SELECT_RUN = _rows.select_sql("runs", _rows.RUN_COLUMNS)
SELECT_MESSAGE = _rows.select_sql("messages", _rows.MESSAGE_COLUMNS)
SELECT_TASK = _rows.select_sql("tasks", _rows.TASK_COLUMNS)
FINISH_RUN = (
    "UPDATE runs SET status = ?, error = ?, answer = ?, input_tokens = ?,"
    " output_tokens = ?, ended_at = ?, lease_until = NULL WHERE id = ?"
)
SET_SESSION_STATUS = "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?"
UPDATE_SESSION = (
    "UPDATE sessions SET status = COALESCE(?, status), title = COALESCE(?, title),"
    " updated_at = ? WHERE id = ?"
)


class StoreBase:
    """The shared half of a :class:`~sagents.store.protocol.Store`."""

    ORDER: ClassVar[str]
    """The column that keeps insertion order in list queries."""

    _writer: BatchWriter[list[Statement]]

    def __init__(self) -> None:
        self.recovered_runs = 0
        """Runs found ``running`` (left by a crash) at the last recovery."""
        self.recovered_sessions = 0
        """Sessions found ``running`` at the last recovery."""
        self.recovered_tool_results = 0
        """Tool calls of those runs that got an "interrupted" result."""
        self._inflight: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _note(self, recovered: Recovered, where: str) -> None:
        """Keep what a recovery at start-up found, and log it when it found any."""
        self.recovered_runs = recovered.runs
        self.recovered_sessions = recovered.sessions
        self.recovered_tool_results = recovered.tool_results
        if recovered.runs or recovered.sessions:
            log.warning(
                "marked %d run(s) and %d session(s) left running as interrupted in %s,"
                " and gave %d unanswered tool call(s) an interrupted result",
                recovered.runs,
                recovered.sessions,
                where,
                recovered.tool_results,
            )

    @property
    def write_batches(self) -> int:
        """Write transactions the batch writer committed (or tried) so far:
        fewer than the writes when concurrent writes shared a transaction."""
        return self._writer.batches

    # what a backend provides

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[RowLike]:
        raise NotImplementedError

    async def _atomic(self, statements: list[Statement]) -> list[int]:
        """Run ``statements`` as one unit, committed on return; their row counts."""
        raise NotImplementedError

    async def _in_tx(self, work: Callable[[Tx], Awaitable[_T]]) -> _T:
        raise NotImplementedError

    async def _shielded(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` (an ``_in_tx`` transaction) in a task a cancelled
        caller cannot stop, so it commits or rolls back and never leaves a
        transaction open; :meth:`_settle` waits for such tasks."""
        task = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        # Retrieve the exception so an abandoned (caller-cancelled) write that
        # failed is logged once here, not as "exception never retrieved".
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("store write failed: %r", exc)

    async def _settle(self) -> None:
        """Before closing: let submitted writes and shielded transactions
        finish; they still need the connection, and abandoning one would
        lose a write its caller was told (by cancellation) might have landed."""
        await self._writer.aclose()
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _write(self, sql: str, params: Sequence[Any]) -> int:
        """One statement, committed on return; the rows it changed."""
        return (await self._atomic([(sql, params)]))[0]

    # sessions

    async def create_session(self, session: SessionRecord) -> None:
        await self._write(INSERT_SESSION, _rows.session_row(session))

    async def get_session(self, user_id: str, session_id: str) -> SessionRecord | None:
        rows = await self._fetch(
            f"{SELECT_SESSION} WHERE id = ? AND user_id = ?", (session_id, user_id)
        )
        return _rows.session_from(rows[0]) if rows else None

    async def update_session(
        self, session_id: str, *, status: SessionStatus | None = None, title: str | None = None
    ) -> None:
        """Always bumps ``updated_at``, so a call with neither argument is a
        "touch" that moves the session to the top of the list."""
        await self._write(
            UPDATE_SESSION, (None if status is None else status.value, title, now(), session_id)
        )

    async def delete_session(self, user_id: str, session_id: str) -> bool:
        """One transaction: the runs' events, then the session, whose
        ``ON DELETE CASCADE`` removes runs, messages and tasks; there is no
        half-deleted state."""

        async def delete(tx: Tx) -> int:
            await tx.execute(_eventlog.DELETE_SESSION_EVENTS, (session_id, user_id))
            return await tx.execute(
                "DELETE FROM sessions WHERE id = ? AND user_id = ?", (session_id, user_id)
            )

        return await self._in_tx(delete) > 0

    # runs

    async def create_run(self, run: RunRecord) -> None:
        await self._write(INSERT_RUN, _rows.run_row(run))

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        answer: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        await self._write(
            FINISH_RUN, (status.value, error, answer, input_tokens, output_tokens, now(), run_id)
        )

    async def begin_run(
        self, run: RunRecord, user_message: MessageRecord, *, new_session: SessionRecord | None
    ) -> None:
        statements: list[Statement] = []
        if new_session is not None:
            statements.append((INSERT_SESSION, _rows.session_row(new_session)))
        statements += [
            (INSERT_RUN, _rows.run_row(run)),
            (SET_SESSION_STATUS, (SessionStatus.RUNNING.value, now(), run.session_id)),
            *self._message_statements([user_message]),
        ]
        await self._atomic(statements)

    async def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        session_id: str,
        session_status: SessionStatus,
        messages: list[MessageRecord] | None = None,
        error: str | None = None,
        answer: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        events: Sequence[StoredEvent] = (),
        floors: dict[str, int] | None = None,
    ) -> None:
        statements = self._message_statements(messages or [])
        statements += [
            (FINISH_RUN, (status.value, error, answer, input_tokens, output_tokens, now(), run_id)),
            (SET_SESSION_STATUS, (session_status.value, now(), session_id)),
            *_eventlog.statements(events, floors or {}),
        ]
        await self._atomic(statements)

    async def get_run(self, session_id: str, run_id: str) -> RunRecord | None:
        rows = await self._fetch(
            f"{SELECT_RUN} WHERE id = ? AND session_id = ?", (run_id, session_id)
        )
        return _rows.run_from(rows[0]) if rows else None

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._fetch(
            f"{SELECT_RUN} WHERE session_id = ? ORDER BY started_at, {self.ORDER}", (session_id,)
        )
        return [_rows.run_from(r) for r in rows]

    # messages

    def _message_statements(self, messages: list[MessageRecord]) -> list[Statement]:
        """The inserts that add ``messages`` to their session, in order."""
        return [(INSERT_MESSAGE, _rows.message_row(m)) for m in messages]

    async def add_messages(self, messages: list[MessageRecord]) -> None:
        """Durable on return, in one transaction: a duplicate ``id`` raises
        the driver's ``IntegrityError`` and nothing of the list is written."""
        if messages:
            await self._atomic(self._message_statements(messages))

    async def list_messages(self, session_id: str) -> list[MessageRecord]:
        rows = await self._fetch(
            f"{SELECT_MESSAGE} WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [_rows.message_from(r) for r in rows]

    # the durable event log and run leases

    async def append_events(
        self, events: list[StoredEvent], floors: dict[str, int] | None = None
    ) -> None:
        """One transaction for the whole batch (see ``_eventlog.statements``)."""
        if events or floors:
            await self._atomic(_eventlog.statements(events, floors or {}))

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        rows = await self._fetch(_eventlog.READ, (run_id, after_seq, limit))
        return [_rows.event_from(r) for r in rows]

    async def event_bounds(self, run_id: str) -> tuple[int, int] | None:
        rows = await self._fetch(_eventlog.BOUNDS, (run_id,))
        if not rows or rows[0]["first"] is None:
            return None
        return int(rows[0]["first"]), int(rows[0]["last"])

    async def renew_leases(self, run_ids: list[str], owner: str, until: float) -> int:
        if not run_ids:
            return 0
        return sum(await self._atomic(_eventlog.renew_statements(run_ids, owner, until)))

    # tasks

    async def upsert_task(self, task: TaskRecord) -> None:
        """Insert or update by (session_id, id). ``created_at`` keeps the value
        of the first insert, and list order stays the order tasks were created."""
        await self._write(UPSERT_TASK, _rows.task_row(task))

    async def list_tasks(self, session_id: str) -> list[TaskRecord]:
        rows = await self._fetch(
            f"{SELECT_TASK} WHERE session_id = ? ORDER BY {self.ORDER}", (session_id,)
        )
        return [_rows.task_from(r) for r in rows]

    # approvals (sagents/store/_approvals.py)

    async def request_approval(self, approval: ApprovalRecord) -> None:
        await self._in_tx(lambda tx: _approvals.request(tx, approval))

    async def decide_approval(
        self,
        run_id: str,
        call_id: str,
        decision: str,
        *,
        by: str,
        arguments: Any = None,
        reason: str | None = None,
    ) -> ApprovalRecord | None:
        return await self._in_tx(
            lambda tx: _approvals.decide(
                tx, run_id, call_id, decision, by=by, arguments=arguments, reason=reason
            )
        )

    async def get_approval(self, run_id: str, call_id: str) -> ApprovalRecord | None:
        return await _approvals.get(self._fetch, run_id, call_id)

    async def list_approvals(
        self, run_id: str, *, pending_only: bool = False
    ) -> list[ApprovalRecord]:
        return await _approvals.of_run(self._fetch, run_id, pending_only=pending_only)

    async def settle_approvals(self, run_id: str, session_id: str) -> bool:
        return await self._in_tx(lambda tx: _approvals.settle(tx, run_id, session_id))

    async def claim_waiting_run(self, run_id: str, owner: str, until: float) -> bool:
        return await self._in_tx(lambda tx: _approvals.claim(tx, run_id, owner, until, now()))

    async def release_waiting_run(self, run_id: str, owner: str) -> None:
        await self._in_tx(lambda tx: _approvals.release(tx, run_id, owner))
