"""The embedded default store: one SQLite file in WAL mode, via aiosqlite."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from sagents.store._base import StoreBase
from sagents.store._recovery import Recovered, recover
from sagents.store._rows import SESSION_COLUMNS, session_from
from sagents.store._schema import load_migrations, migrate
from sagents.store._sql import Many, RowLike, SQLiteTx, Statement, Tx
from sagents.store._writer import BatchWriter, Outcome
from sagents.store.records import SessionRecord, now

log = logging.getLogger(__name__)

_T = TypeVar("_T")

BUSY_TIMEOUT_MS = 5_000
"""How long a statement waits for another process's lock (``sage`` CLI, a
backup) before failing with "database is locked"."""

_LIST_SESSIONS = (
    f"SELECT {', '.join(SESSION_COLUMNS)},"
    " (SELECT COUNT(*) FROM sessions WHERE user_id = ?1) AS total"
    " FROM sessions WHERE user_id = ?1 ORDER BY updated_at DESC, rowid DESC LIMIT ?2 OFFSET ?3"
)


class SQLiteStore(StoreBase):
    """:class:`~sagents.store.protocol.Store` over one SQLite file.

    Durability. The file runs in WAL mode with ``synchronous=NORMAL``. A commit
    appends its pages to the ``-wal`` file with ``write()`` before returning;
    only checkpoints ``fsync``. A killed process (kill -9, OOM killer, a crash)
    loses nothing, because the written pages are in the OS page cache and the
    next open replays the WAL. Only an OS crash or power loss can drop the
    last few commits, and even then the file stays consistent. ``FULL`` would
    ``fsync`` on every commit, i.e. on every completed message: a cost the hot
    path should not pay for protection the design does not ask for.

    Writes. One connection, whose aiosqlite thread runs calls one at a time in
    submission order. Every write goes through the store's batch writer
    (``_writer``): the writes waiting at that moment run as one transaction
    in *one* call on that thread (:func:`_run_batch`), each inside its own
    savepoint, so a simple tool turn costs five round trips to the thread
    instead of about twenty, and its callers still return only once their
    write committed. Reads go to the thread directly; they may see a batch
    that is being committed. Recovery and deletes (``_in_tx``) read and write
    in one transaction of several round trips; ``_lock`` keeps them and the
    writer's batches apart.

    Cancellation. Runs are cancelled routinely. A write that was submitted
    runs to its end whatever its caller does (see ``_writer``), and
    ``_in_tx`` runs in a shielded task, so no ``BEGIN`` is ever left open on
    the shared connection; :meth:`close` waits for both.

    Recovery. :meth:`open` marks runs left ``running`` whose lease has
    expired as ``interrupted``, with their sessions, and gives their
    unanswered tool calls an "interrupted" result (see ``_recovery``). A run
    whose owner still renews its lease is left alone, so a second process on
    the same file never touches the first one's live runs. An ``exclusive``
    store (its Runtime holds the data directory's lock) knows every running
    run is orphaned and interrupts them all at once.
    """

    ORDER = "rowid"

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        super().__init__()
        self.path = path
        self.exclusive = exclusive
        """The caller holds the data directory's lock, so no other process
        uses the file: :meth:`open` then interrupts every run left running,
        whatever its lease (their process is gone), instead of waiting for
        the leases to expire."""
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._writer: BatchWriter[list[Statement]] = BatchWriter(
            self._run_batch, name="sage-sqlite-writer"
        )

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
        self._writer = BatchWriter(self._run_batch, name="sage-sqlite-writer")
        self._note(recovered, str(self.path))

    def _prepare(self) -> list[tuple[int, list[str]]]:
        """The blocking part of :meth:`open`, run in a worker thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return load_migrations()

    async def close(self) -> None:
        if self._db is None:
            return
        await self._settle()
        db, self._db = self._db, None
        await db.close()

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open; call open() first")
        return self._db

    # the backend's part of StoreBase

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[RowLike]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def _atomic(self, statements: list[Statement]) -> list[int]:
        self._conn  # noqa: B018 (raises when the store is not open)
        return await self._writer.submit(statements)

    async def _run_batch(self, writes: list[list[Statement]]) -> list[Outcome]:
        """One batch of the writer: one call on the connection's thread.

        aiosqlite has no public call that runs a function of ours on its
        thread; ``_execute`` is the one every one of its own calls goes
        through (queue the function, await its future), unchanged since
        0.17. Using it is what makes a batch one round trip and not one per
        statement."""
        db = self._conn
        run: Callable[..., Awaitable[list[Outcome]]] = db._execute
        async with self._lock:
            return await run(_run_batch, db._conn, writes)

    async def _in_tx(self, work: Callable[[Tx], Awaitable[_T]]) -> _T:
        """``work`` inside one write transaction, in a shielded task so a
        cancelled caller cannot leave the transaction open."""

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

    # what differs from PostgreSQL

    async def list_sessions(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SessionRecord], int]:
        """Page and total in one statement (one round trip); a separate count
        is needed only when the page is empty, e.g. past the last page."""
        rows = await self._fetch(_LIST_SESSIONS, (user_id, limit, offset))
        if rows:
            return [session_from(r) for r in rows], int(rows[0]["total"])
        counted = await self._fetch(
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?", (user_id,)
        )
        return [], int(counted[0]["n"])

    async def recover(self) -> int:
        """Interrupt runs whose lease has expired (see ``_recovery``); the
        number of runs marked. Safe at any time: a live run's owner renews."""
        recovered = await self._in_tx(lambda tx: recover(tx, now()))
        if recovered.runs:
            log.warning("marked %d run(s) whose lease expired as interrupted", recovered.runs)
        return recovered.runs


def _run_batch(conn: sqlite3.Connection, writes: list[list[Statement]]) -> list[Outcome]:
    """Run on the SQLite thread: every write of the batch in one transaction.

    A lone write needs no savepoint: its failure rolls the transaction back
    and is the batch's outcome. With several, each runs inside a savepoint,
    so one that fails (a duplicate id) is undone alone and the others commit.
    """
    outcomes: list[Outcome] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        if len(writes) == 1:
            outcomes.append([_run(conn, statement) for statement in writes[0]])
        else:
            for statements in writes:
                conn.execute("SAVEPOINT write")
                try:
                    outcomes.append([_run(conn, statement) for statement in statements])
                except Exception as exc:
                    conn.execute("ROLLBACK TO write")
                    outcomes.append(exc)
                conn.execute("RELEASE write")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _run(conn: sqlite3.Connection, statement: Statement) -> int:
    """One statement of a write, on the SQLite thread; the rows it changed."""
    if isinstance(statement, Many):
        return conn.executemany(statement.sql, statement.rows).rowcount
    sql, params = statement
    return conn.execute(sql, params).rowcount


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
