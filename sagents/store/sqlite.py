"""The embedded default store: one SQLite file in WAL mode, via aiosqlite."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite

from sagents.store import _approvals, _eventlog, _rows
from sagents.store._recovery import Recovered, recover
from sagents.store._schema import load_migrations, migrate
from sagents.store._sql import SQLiteTx, Tx
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

BUSY_TIMEOUT_MS = 5_000
"""How long a statement waits for another process's lock (``sage`` CLI, a
backup) before failing with "database is locked"."""

_INSERT_SESSION = _rows.insert_sql("sessions", _rows.SESSION_COLUMNS)
_INSERT_RUN = _rows.insert_sql("runs", _rows.RUN_COLUMNS)
_INSERT_MESSAGE = _rows.insert_sql("messages", _rows.MESSAGE_COLUMNS)
_UPSERT_TASK = _rows.insert_sql("tasks", _rows.TASK_COLUMNS) + (
    " ON CONFLICT (session_id, id) DO UPDATE SET title = excluded.title,"
    " description = excluded.description, status = excluded.status,"
    " depends_on = excluded.depends_on, result = excluded.result,"
    " run_id = excluded.run_id, updated_at = excluded.updated_at"
)
_SELECT_SESSION = _rows.select_sql("sessions", _rows.SESSION_COLUMNS)
_LIST_SESSIONS = (
    f"SELECT {', '.join(_rows.SESSION_COLUMNS)},"
    " (SELECT COUNT(*) FROM sessions WHERE user_id = ?1) AS total"
    " FROM sessions WHERE user_id = ?1 ORDER BY updated_at DESC, rowid DESC LIMIT ?2 OFFSET ?3"
)
_SELECT_RUN = _rows.select_sql("runs", _rows.RUN_COLUMNS)
_SELECT_MESSAGE = _rows.select_sql("messages", _rows.MESSAGE_COLUMNS)
_SELECT_TASK = _rows.select_sql("tasks", _rows.TASK_COLUMNS)

_FINISH_RUN = (
    "UPDATE runs SET status = ?, error = ?, answer = ?, input_tokens = ?,"
    " output_tokens = ?, ended_at = ?, lease_until = NULL WHERE id = ?"
)
_SET_SESSION_STATUS = "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?"


class SQLiteStore:
    """:class:`~sagents.store.protocol.Store` over one SQLite file.

    Durability. The file runs in WAL mode with ``synchronous=NORMAL``. A commit
    appends its pages to the ``-wal`` file with ``write()`` before returning;
    only checkpoints ``fsync``. A killed process (kill -9, OOM killer, a crash)
    loses nothing, because the written pages are in the OS page cache and the
    next open replays the WAL. Only an OS crash or power loss can drop the
    last few commits, and even then the file stays consistent. ``FULL`` would
    ``fsync`` on every commit, i.e. on every completed message: a cost the hot
    path should not pay for protection the design does not ask for.

    Concurrency. One connection, whose aiosqlite thread runs statements one at
    a time in submission order. The connection is in autocommit mode, so a
    single statement is its own transaction and needs one round trip. Writes
    take ``_lock`` so that no single-statement write can land inside (and be
    rolled back with) another coroutine's multi-statement transaction. Reads
    skip the lock; they may see a batch that is being committed.

    Cancellation. Runs are cancelled routinely. A cancelled multi-statement
    write would otherwise leave ``BEGIN`` open on the shared connection, so
    those run in a shielded task that finishes (commits or rolls back) even if
    the caller goes away; :meth:`close` waits for them.

    Recovery. :meth:`open` marks runs left ``running`` whose lease has
    expired as ``interrupted``, with their sessions, and gives their
    unanswered tool calls an "interrupted" result (see ``_recovery``). A run
    whose owner still renews its lease is left alone, so a second process on
    the same file never touches the first one's live runs. An ``exclusive``
    store (its Runtime holds the data directory's lock) knows every running
    run is orphaned and interrupts them all at once.
    """

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        self.path = path
        self.exclusive = exclusive
        """The caller holds the data directory's lock, so no other process
        uses the file: :meth:`open` then interrupts every run left running,
        whatever its lease (their process is gone), instead of waiting for
        the leases to expire."""
        self.recovered_runs = 0
        """Runs found ``running`` (left by a crash) at the last :meth:`open`."""
        self.recovered_sessions = 0
        """Sessions found ``running`` at the last :meth:`open`."""
        self.recovered_tool_results = 0
        """Tool calls of those runs that got an "interrupted" result."""
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
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

    # lifecycle

    async def open(self) -> None:
        if self._db is not None:
            raise RuntimeError("store is already open")
        migrations = await asyncio.to_thread(self._prepare)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            # busy_timeout first, so that switching to WAL waits out a
            # concurrent opener instead of failing.
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            async with db.execute("PRAGMA journal_mode = WAL") as cursor:
                mode = await cursor.fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                # e.g. a network filesystem without shared memory: still
                # correct, only slower and without concurrent readers.
                log.warning("SQLite refused WAL mode for %s (got %r)", self.path, mode)
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await migrate(db, migrations)
            recovered = await _recover(db, float("inf") if self.exclusive else now())
        except BaseException:
            await db.close()
            raise
        self._db = db
        self.recovered_runs = recovered.runs
        self.recovered_sessions = recovered.sessions
        self.recovered_tool_results = recovered.tool_results
        if recovered.runs or recovered.sessions:
            log.warning(
                "marked %d run(s) and %d session(s) left running as interrupted in %s,"
                " and gave %d unanswered tool call(s) an interrupted result",
                recovered.runs,
                recovered.sessions,
                self.path,
                recovered.tool_results,
            )

    def _prepare(self) -> list[tuple[int, list[str]]]:
        """The blocking part of :meth:`open`, run in a worker thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return load_migrations()

    async def close(self) -> None:
        if self._db is None:
            return
        # Let shielded transactions finish first: they still need the
        # connection, and abandoning one would lose a batch the caller was
        # told (by cancellation) might have landed.
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        db, self._db = self._db, None
        await db.close()

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open; call open() first")
        return self._db

    # write helpers

    async def _write(self, sql: str, params: Iterable[Any]) -> int:
        """One statement, committed on return (autocommit). Returns rowcount."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def _write_many(self, sql: str, rows: list[_rows.Row]) -> None:
        """All rows in one transaction: all land or none do."""
        await self._shielded(self._transaction(sql, rows))

    async def _transaction(self, sql: str, rows: list[_rows.Row]) -> None:
        async with self._lock:
            db = self._conn
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.executemany(sql, rows)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _atomic(self, statements: list[tuple[str, Iterable[Any]]]) -> None:
        """Several statements in one transaction (one commit, one fsync),
        shielded like ``_write_many`` so a cancelled caller cannot leave the
        transaction open."""

        async def run() -> None:
            async with self._lock:
                db = self._conn
                await db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        await db.execute(sql, params)
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
                await db.execute("COMMIT")

        await self._shielded(run())

    async def _in_tx(self, work: Callable[[Tx], Awaitable[_T]]) -> _T:
        """``work`` inside one write transaction, shielded like ``_atomic``."""

        async def run() -> _T:
            async with self._lock:
                db = self._conn
                await db.execute("BEGIN IMMEDIATE")
                try:
                    result = await work(SQLiteTx(db))
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
                await db.execute("COMMIT")
                return result

        return await self._shielded(run())

    async def _shielded(self, coro: Coroutine[Any, Any, _T]) -> _T:
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

    # sessions

    async def create_session(self, session: SessionRecord) -> None:
        await self._write(_INSERT_SESSION, _rows.session_row(session))

    async def get_session(self, user_id: str, session_id: str) -> SessionRecord | None:
        rows = await self._conn.execute_fetchall(
            f"{_SELECT_SESSION} WHERE id = ? AND user_id = ?", (session_id, user_id)
        )
        for row in rows:
            return _rows.session_from(row)
        return None

    async def list_sessions(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SessionRecord], int]:
        """Page and total in one statement (one round trip); a separate count
        is needed only when the page is empty, e.g. past the last page."""
        rows = list(
            await self._conn.execute_fetchall(
                _LIST_SESSIONS,
                (user_id, limit, offset),
            )
        )
        if rows:
            return [_rows.session_from(r) for r in rows], int(rows[0]["total"])
        counted = list(
            await self._conn.execute_fetchall(
                "SELECT COUNT(*) FROM sessions WHERE user_id = ?", (user_id,)
            )
        )
        return [], int(counted[0][0])

    async def update_session(
        self, session_id: str, *, status: SessionStatus | None = None, title: str | None = None
    ) -> None:
        """Always bumps ``updated_at``, so a call with neither argument is a
        "touch" that moves the session to the top of the list."""
        await self._write(
            "UPDATE sessions SET status = COALESCE(?, status), title = COALESCE(?, title),"
            " updated_at = ? WHERE id = ?",
            (None if status is None else status.value, title, now(), session_id),
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
        await self._write(_INSERT_RUN, _rows.run_row(run))

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
            _FINISH_RUN, (status.value, error, answer, input_tokens, output_tokens, now(), run_id)
        )

    async def begin_run(
        self, run: RunRecord, user_message: MessageRecord, *, new_session: SessionRecord | None
    ) -> None:
        statements: list[tuple[str, Iterable[Any]]] = []
        if new_session is not None:
            statements.append((_INSERT_SESSION, _rows.session_row(new_session)))
        statements += [
            (_INSERT_RUN, _rows.run_row(run)),
            (_SET_SESSION_STATUS, (SessionStatus.RUNNING.value, now(), run.session_id)),
            (_INSERT_MESSAGE, _rows.message_row(user_message)),
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
    ) -> None:
        statements: list[tuple[str, Iterable[Any]]] = [
            (_INSERT_MESSAGE, _rows.message_row(m)) for m in messages or []
        ]
        statements += [
            (
                _FINISH_RUN,
                (status.value, error, answer, input_tokens, output_tokens, now(), run_id),
            ),
            (_SET_SESSION_STATUS, (session_status.value, now(), session_id)),
        ]
        await self._atomic(statements)

    async def get_run(self, session_id: str, run_id: str) -> RunRecord | None:
        rows = await self._conn.execute_fetchall(
            f"{_SELECT_RUN} WHERE id = ? AND session_id = ?", (run_id, session_id)
        )
        for row in rows:
            return _rows.run_from(row)
        return None

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._conn.execute_fetchall(
            f"{_SELECT_RUN} WHERE session_id = ? ORDER BY started_at, rowid", (session_id,)
        )
        return [_rows.run_from(r) for r in rows]

    # messages

    async def add_messages(self, messages: list[MessageRecord]) -> None:
        """Durable on return. The common case, one message, is a single
        autocommit INSERT (one thread round trip); a batch is one transaction.
        A duplicate ``id`` raises ``sqlite3.IntegrityError`` and nothing of
        the batch is written."""
        if not messages:
            return
        if len(messages) == 1:
            await self._write(_INSERT_MESSAGE, _rows.message_row(messages[0]))
            return
        await self._write_many(_INSERT_MESSAGE, [_rows.message_row(m) for m in messages])

    async def list_messages(self, session_id: str) -> list[MessageRecord]:
        rows = await self._conn.execute_fetchall(
            f"{_SELECT_MESSAGE} WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [_rows.message_from(r) for r in rows]

    # the durable event log and run leases

    async def append_events(
        self, events: list[StoredEvent], floors: dict[str, int] | None = None
    ) -> None:
        """One transaction for the whole batch (see ``_eventlog.append``)."""
        if events or floors:
            await self._in_tx(lambda tx: _eventlog.append(tx, events, floors or {}))

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        return await _eventlog.read(SQLiteTx(self._conn), run_id, after_seq, limit)

    async def event_bounds(self, run_id: str) -> tuple[int, int] | None:
        return await _eventlog.bounds(SQLiteTx(self._conn), run_id)

    async def renew_leases(self, run_ids: list[str], owner: str, until: float) -> int:
        if not run_ids:
            return 0
        return await self._in_tx(lambda tx: _eventlog.renew(tx, run_ids, owner, until))

    async def recover(self) -> int:
        """Interrupt runs whose lease has expired (see ``_recovery``); the
        number of runs marked. Safe at any time: a live run's owner renews."""
        recovered = await self._in_tx(lambda tx: recover(tx, now()))
        if recovered.runs:
            log.warning("marked %d run(s) whose lease expired as interrupted", recovered.runs)
        return recovered.runs

    # tasks

    async def upsert_task(self, task: TaskRecord) -> None:
        """Insert or update by (session_id, id). ``created_at`` keeps the value
        of the first insert, and list order stays the order tasks were created."""
        await self._write(_UPSERT_TASK, _rows.task_row(task))

    async def list_tasks(self, session_id: str) -> list[TaskRecord]:
        rows = await self._conn.execute_fetchall(
            f"{_SELECT_TASK} WHERE session_id = ? ORDER BY rowid", (session_id,)
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
        return await self._in_tx(lambda tx: _approvals.get(tx, run_id, call_id))

    async def list_approvals(
        self, run_id: str, *, pending_only: bool = False
    ) -> list[ApprovalRecord]:
        return await self._in_tx(
            lambda tx: _approvals.of_run(tx, run_id, pending_only=pending_only)
        )

    async def settle_approvals(self, run_id: str, session_id: str) -> bool:
        return await self._in_tx(lambda tx: _approvals.settle(tx, run_id, session_id))

    async def claim_waiting_run(self, run_id: str, owner: str, until: float) -> bool:
        return await self._in_tx(lambda tx: _approvals.claim(tx, run_id, owner, until, now()))

    async def release_waiting_run(self, run_id: str, owner: str) -> None:
        await self._in_tx(lambda tx: _approvals.release(tx, run_id, owner))


async def _recover(db: aiosqlite.Connection, at: float) -> Recovered:
    """Recovery in one ``BEGIN IMMEDIATE`` transaction: a crash during it
    leaves nothing half done, and the next start does it all again."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        recovered = await recover(SQLiteTx(db), at)
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return recovered
