"""The server store: PostgreSQL, shared by every replica.

Driver: psycopg 3 (with ``psycopg_pool``), not asyncpg. Both are asyncio
native and maintained; psycopg 3 was chosen because it ships its own type
annotations (the project type-checks under mypy strict; asyncpg needs
third-party stubs), it speaks libpq's connection strings and environment
(``PGPASSFILE``, ``sslmode``, ``options``) exactly as ``psql`` does, so an
operator's URL works unchanged, and its pipeline mode and ``executemany``
batch the event log's appends into one round trip. asyncpg's edge in raw
decode speed matters little here: the store moves a few rows per turn.

Statements are the SQLite store's, with ``%s`` placeholders (``_sql.pg``) and
``pos`` where SQLite orders by ``rowid``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from sagents.store import _approvals, _eventlog, _rows
from sagents.store._recovery import recover
from sagents.store._schema import SchemaTooNewError, migration_files
from sagents.store._sql import PostgresTx, Tx, pg
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

_MIGRATE_LOCK = 0x5A6E_0001
"""Advisory lock key taken while migrating or recovering, so replicas that
start together do it one at a time (the second finds nothing left to do)."""

OPEN_TIMEOUT_S = 10
"""Seconds :meth:`PostgresStore.open` waits for a connection."""

_INSERT_SESSION = pg(_rows.insert_sql("sessions", _rows.SESSION_COLUMNS))
_INSERT_RUN = pg(_rows.insert_sql("runs", _rows.RUN_COLUMNS))
_INSERT_MESSAGE = pg(_rows.insert_sql("messages", _rows.MESSAGE_COLUMNS))
_INSERT_MESSAGE_LOCKED = (
    f"INSERT INTO messages ({', '.join(_rows.MESSAGE_COLUMNS)})"
    f" SELECT {', '.join(['%s'] * len(_rows.MESSAGE_COLUMNS))}"
    " FROM (SELECT pg_advisory_xact_lock(hashtext(%s))) AS session_lock"
)
"""One message in one statement (one round trip) that first takes the
session's lock (see ``_session_lock``): the identity ``seq`` is drawn after
the lock, so it cannot land inside another writer's batch."""
_UPSERT_TASK = pg(_rows.insert_sql("tasks", _rows.TASK_COLUMNS)) + (
    " ON CONFLICT (session_id, id) DO UPDATE SET title = excluded.title,"
    " description = excluded.description, status = excluded.status,"
    " depends_on = excluded.depends_on, result = excluded.result,"
    " run_id = excluded.run_id, updated_at = excluded.updated_at"
)
_SELECT_SESSION = _rows.select_sql("sessions", _rows.SESSION_COLUMNS)
_LIST_SESSIONS = (
    f"SELECT {', '.join(_rows.SESSION_COLUMNS)}, COUNT(*) OVER () AS total"
    " FROM sessions WHERE user_id = %s ORDER BY updated_at DESC, pos DESC LIMIT %s OFFSET %s"
)
_SELECT_RUN = _rows.select_sql("runs", _rows.RUN_COLUMNS)
_SELECT_MESSAGE = _rows.select_sql("messages", _rows.MESSAGE_COLUMNS)
_SELECT_TASK = _rows.select_sql("tasks", _rows.TASK_COLUMNS)
_FINISH_RUN = (
    "UPDATE runs SET status = %s, error = %s, answer = %s, input_tokens = %s,"
    " output_tokens = %s, ended_at = %s, lease_until = NULL WHERE id = %s"
)
_SET_SESSION_STATUS = "UPDATE sessions SET status = %s, updated_at = %s WHERE id = %s"

Statements = list[tuple[str, Sequence[Any]]]


class PostgresStore:
    """:class:`~sagents.store.protocol.Store` over a PostgreSQL database.

    Durability. Every commit is on disk before it returns (PostgreSQL's
    default ``synchronous_commit``), so a completed message survives a kill
    -9 of Sage and of the database.

    Concurrency. A pool of connections in autocommit mode: a single
    statement is its own transaction and one round trip; a multi-statement
    write holds one connection for one ``BEGIN … COMMIT``. Any number of
    processes may share the database; recovery and migrations serialise on
    an advisory lock.

    Cancellation. As in the SQLite store, multi-statement writes run in a
    shielded task, so a cancelled run still commits (or rolls back) what it
    asked for, and :meth:`close` waits for those writes.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.recovered_runs = 0
        self.recovered_sessions = 0
        self.recovered_tool_results = 0
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
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
        if self._pool is not None:
            raise RuntimeError("store is already open")
        migrations = await asyncio.to_thread(migration_files, "postgres")
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            open=False,
            connection_class=AsyncConnection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row},
            name="sage-store",
        )
        # One plain connection first: an unreachable or misconfigured server
        # then fails at once with libpq's own message (host, port, reason)
        # instead of a pool timeout; it also applies the migrations.
        async with await AsyncConnection.connect(
            self.url, autocommit=True, row_factory=dict_row, connect_timeout=OPEN_TIMEOUT_S
        ) as conn:
            await _migrate(conn, migrations)
        try:
            await pool.open(wait=True, timeout=OPEN_TIMEOUT_S)
            self._pool = pool
            await self.recover()
        except BaseException:
            self._pool = None
            await pool.close()
            raise

    async def recover(self) -> int:
        """Mark runs whose lease expired as interrupted (see ``_recovery``);
        the number of runs marked. Safe to call at any time from any replica."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            recovered = await recover(PostgresTx(conn), now())
        self.recovered_runs = recovered.runs
        self.recovered_sessions = recovered.sessions
        self.recovered_tool_results = recovered.tool_results
        if recovered.runs or recovered.sessions:
            log.warning(
                "marked %d run(s) whose lease expired and %d session(s) as interrupted,"
                " and gave %d unanswered tool call(s) an interrupted result",
                recovered.runs,
                recovered.sessions,
                recovered.tool_results,
            )
        return recovered.runs

    async def close(self) -> None:
        if self._pool is None:
            return
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        pool, self._pool = self._pool, None
        await pool.close()

    def _connection(self) -> AbstractAsyncContextManager[AsyncConnection[DictRow]]:
        if self._pool is None:
            raise RuntimeError("store is not open; call open() first")
        return self._pool.connection()

    # helpers

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[DictRow]:
        async with self._connection() as conn:
            cursor = await conn.execute(sql, params)
            return list(await cursor.fetchall())

    async def _write(self, sql: str, params: Sequence[Any]) -> int:
        async with self._connection() as conn:
            cursor = await conn.execute(sql, params)
            return int(cursor.rowcount)

    async def _atomic(self, statements: Statements) -> None:
        await self._shielded(self._transaction(statements))

    async def _transaction(self, statements: Statements) -> None:
        async with self._connection() as conn, conn.transaction():
            for sql, params in statements:
                await conn.execute(sql, params)

    async def _in_tx(self, work: Callable[[Tx], Awaitable[_T]]) -> _T:
        """``work`` inside one transaction on one connection, shielded."""

        async def run() -> _T:
            async with self._connection() as conn, conn.transaction():
                return await work(PostgresTx(conn))

        return await self._shielded(run())

    async def _shielded(self, coro: Coroutine[Any, Any, _T]) -> _T:
        task = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("store write failed: %r", exc)

    # sessions

    async def create_session(self, session: SessionRecord) -> None:
        await self._write(_INSERT_SESSION, _rows.session_row(session))

    async def get_session(self, user_id: str, session_id: str) -> SessionRecord | None:
        rows = await self._fetch(
            f"{_SELECT_SESSION} WHERE id = %s AND user_id = %s", (session_id, user_id)
        )
        return _rows.session_from(rows[0]) if rows else None

    async def list_sessions(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SessionRecord], int]:
        rows = await self._fetch(_LIST_SESSIONS, (user_id, limit, offset))
        if rows:
            return [_rows.session_from(r) for r in rows], int(rows[0]["total"])
        counted = await self._fetch(
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = %s", (user_id,)
        )
        return [], int(counted[0]["n"])

    async def update_session(
        self, session_id: str, *, status: SessionStatus | None = None, title: str | None = None
    ) -> None:
        await self._write(
            "UPDATE sessions SET status = COALESCE(%s, status), title = COALESCE(%s, title),"
            " updated_at = %s WHERE id = %s",
            (None if status is None else status.value, title, now(), session_id),
        )

    async def delete_session(self, user_id: str, session_id: str) -> bool:
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
        statements: Statements = []
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
        statements: Statements = [_session_lock(session_id)] if messages else []
        statements += [(_INSERT_MESSAGE, _rows.message_row(m)) for m in messages or []]
        statements += [
            (
                _FINISH_RUN,
                (status.value, error, answer, input_tokens, output_tokens, now(), run_id),
            ),
            (_SET_SESSION_STATUS, (session_status.value, now(), session_id)),
        ]
        await self._atomic(statements)

    async def get_run(self, session_id: str, run_id: str) -> RunRecord | None:
        rows = await self._fetch(
            f"{_SELECT_RUN} WHERE id = %s AND session_id = %s", (run_id, session_id)
        )
        return _rows.run_from(rows[0]) if rows else None

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._fetch(
            f"{_SELECT_RUN} WHERE session_id = %s ORDER BY started_at, pos", (session_id,)
        )
        return [_rows.run_from(r) for r in rows]

    # messages

    async def add_messages(self, messages: list[MessageRecord]) -> None:
        """Durable on return; a batch is one transaction (a duplicate ``id``
        raises ``psycopg.IntegrityError`` and nothing of it is written)."""
        if not messages:
            return
        if len(messages) == 1:
            [message] = messages
            await self._write(
                _INSERT_MESSAGE_LOCKED, (*_rows.message_row(message), message.session_id)
            )
            return
        await self._atomic(
            [_session_lock(messages[0].session_id)]
            + [(_INSERT_MESSAGE, _rows.message_row(m)) for m in messages]
        )

    async def list_messages(self, session_id: str) -> list[MessageRecord]:
        rows = await self._fetch(
            f"{_SELECT_MESSAGE} WHERE session_id = %s ORDER BY seq", (session_id,)
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
        async with self._connection() as conn:
            return await _eventlog.read(PostgresTx(conn), run_id, after_seq, limit)

    async def event_bounds(self, run_id: str) -> tuple[int, int] | None:
        async with self._connection() as conn:
            return await _eventlog.bounds(PostgresTx(conn), run_id)

    async def renew_leases(self, run_ids: list[str], owner: str, until: float) -> int:
        if not run_ids:
            return 0
        return await self._in_tx(lambda tx: _eventlog.renew(tx, run_ids, owner, until))

    # tasks

    async def upsert_task(self, task: TaskRecord) -> None:
        await self._write(_UPSERT_TASK, _rows.task_row(task))

    async def list_tasks(self, session_id: str) -> list[TaskRecord]:
        rows = await self._fetch(
            f"{_SELECT_TASK} WHERE session_id = %s ORDER BY pos", (session_id,)
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


def _session_lock(session_id: str) -> tuple[str, Sequence[Any]]:
    """A statement that holds the session's advisory lock until the commit.

    Identity values are drawn as rows are inserted, not as transactions
    commit, so two concurrent batches for one session could interleave their
    ``seq``; SQLite's single writer never does. Holding this lock keeps a
    batch contiguous in the session's history, as on SQLite.
    """
    return ("SELECT pg_advisory_xact_lock(hashtext(%s))", (session_id,))


async def _migrate(conn: AsyncConnection[DictRow], migrations: list[tuple[int, str]]) -> int:
    """Apply the migrations this database lacks, each in the transaction
    that records it (PostgreSQL DDL is transactional); the version found.

    The advisory lock makes replicas that start together migrate one at a
    time; the second reads the new version and applies nothing.
    """
    latest = migrations[-1][0]
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        row = await cursor.fetchone()
        found = int(row["v"]) if row is not None else 0
        if found > latest:
            raise SchemaTooNewError(
                f"database schema version {found} is newer than this Sage "
                f"understands ({latest}); upgrade Sage"
            )
        for version, script in migrations:
            if version > found:
                # No parameters: psycopg sends the whole file as one simple
                # query, which may hold several statements.
                await conn.execute(script.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                    (version, now()),
                )
    return found
