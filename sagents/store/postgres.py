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
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from sagents.store._base import StoreBase
from sagents.store._recovery import recover
from sagents.store._rows import SESSION_COLUMNS, session_from
from sagents.store._schema import SchemaTooNewError, migration_files
from sagents.store._sql import Many, PostgresTx, RowLike, Statement, Tx, pg
from sagents.store._writer import BatchWriter, Outcome
from sagents.store.records import MessageRecord, SessionRecord, now

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_MIGRATE_LOCK = 0x5A6E_0001
"""Advisory lock key taken while migrating or recovering, so replicas that
start together do it one at a time (the second finds nothing left to do)."""

OPEN_TIMEOUT_S = 10
"""Seconds :meth:`PostgresStore.open` waits for a connection."""

_SESSION_LOCK = "SELECT pg_advisory_xact_lock(hashtext(?))"
"""Holds the session's advisory lock until the commit.

Identity values are drawn as rows are inserted, not as transactions commit,
so two concurrent transactions adding messages to one session could
interleave their ``seq``; SQLite's single writer never does. Taking this
lock first keeps a write's messages contiguous in the session's history."""

_LIST_SESSIONS = (
    f"SELECT {', '.join(SESSION_COLUMNS)}, COUNT(*) OVER () AS total"
    " FROM sessions WHERE user_id = ? ORDER BY updated_at DESC, pos DESC LIMIT ? OFFSET ?"
)


class PostgresStore(StoreBase):
    """:class:`~sagents.store.protocol.Store` over a PostgreSQL database.

    Durability. Every commit is on disk before it returns (PostgreSQL's
    default ``synchronous_commit``), so a completed message survives a kill
    -9 of Sage and of the database.

    Writes. As in the SQLite store, every write goes through one batch
    writer (``_writer``): the writes waiting at that moment run as one
    transaction on one pooled connection, sent in pipeline mode (statements
    go out without waiting for each answer), so a batch costs about one
    network round trip and one commit (one fsync) however many writes it
    holds. If any write of a batch fails, the batch is rolled back and each
    of its writes is run again alone, so only the failing one's caller gets
    the error. Reads take any pooled connection. Any number of processes may
    share the database; recovery and migrations serialise on an advisory lock.

    Cancellation. A submitted write runs to its end whatever its caller does,
    and ``_in_tx`` runs in a shielded task; :meth:`close` waits for both.
    """

    ORDER = "pos"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        super().__init__()
        self.url = url
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
        self._writer: BatchWriter[list[Statement]] = BatchWriter(
            self._run_batch, name="sage-postgres-writer"
        )

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
            self._writer = BatchWriter(self._run_batch, name="sage-postgres-writer")
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
        self._note(recovered, "the database")
        return recovered.runs

    async def close(self) -> None:
        if self._pool is None:
            return
        await self._settle()
        pool, self._pool = self._pool, None
        await pool.close()

    def _connection(self) -> AbstractAsyncContextManager[AsyncConnection[DictRow]]:
        if self._pool is None:
            raise RuntimeError("store is not open; call open() first")
        return self._pool.connection()

    # the backend's part of StoreBase

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[RowLike]:
        async with self._connection() as conn:
            cursor = await conn.execute(pg(sql), params)
            return list(await cursor.fetchall())

    async def _atomic(self, statements: list[Statement]) -> list[int]:
        if self._pool is None:
            raise RuntimeError("store is not open; call open() first")
        return await self._writer.submit(statements)

    async def _run_batch(self, writes: list[list[Statement]]) -> list[Outcome]:
        """One batch of the writer: all of it in one pipelined transaction;
        if that fails, each write again alone, so a bad one fails alone."""
        try:
            return list(await self._transaction(writes))
        except psycopg.Error as exc:
            if len(writes) == 1:
                return [exc]
        outcomes: list[Outcome] = []
        for statements in writes:
            try:
                outcomes += await self._transaction([statements])
            except psycopg.Error as exc:
                outcomes.append(exc)
        return outcomes

    async def _transaction(self, writes: list[list[Statement]]) -> list[Outcome]:
        async with self._connection() as conn:
            cursors: list[list[psycopg.AsyncCursor[DictRow]]] = []
            async with conn.pipeline(), conn.transaction():
                for statements in writes:
                    cursors.append([await _run(conn, statement) for statement in statements])
            return [[c.rowcount for c in write] for write in cursors]

    async def _in_tx(self, work: Callable[[Tx], Awaitable[_T]]) -> _T:
        """``work`` inside one transaction on one connection, shielded."""

        async def run() -> _T:
            async with self._connection() as conn, conn.transaction():
                return await work(PostgresTx(conn))

        return await self._shielded(run())

    # what differs from SQLite

    async def list_sessions(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SessionRecord], int]:
        rows = await self._fetch(_LIST_SESSIONS, (user_id, limit, offset))
        if rows:
            return [session_from(r) for r in rows], int(rows[0]["total"])
        counted = await self._fetch(
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?", (user_id,)
        )
        return [], int(counted[0]["n"])

    def _message_statements(self, messages: list[MessageRecord]) -> list[Statement]:
        """The session's lock first (see ``_SESSION_LOCK``), then the inserts."""
        if not messages:
            return []
        return [(_SESSION_LOCK, (messages[0].session_id,)), *super()._message_statements(messages)]


async def _run(
    conn: AsyncConnection[DictRow], statement: Statement
) -> psycopg.AsyncCursor[DictRow]:
    """Send one statement of a write down the pipeline; its cursor, whose
    ``rowcount`` is known once the pipeline synced (for ``executemany``, the
    sum over its rows)."""
    if isinstance(statement, Many):
        cursor = conn.cursor()
        await cursor.executemany(pg(statement.sql), statement.rows)
        return cursor
    sql, params = statement
    return await conn.execute(pg(sql), params)


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
