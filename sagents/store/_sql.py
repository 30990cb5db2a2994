"""The little both backends share below the store: a connection inside a
transaction, reduced to the three calls recovery and the event log need.

Written by hand rather than with an abstraction library (SQLAlchemy core)
because the store issues a dozen fixed statements; a dependency of that size
would buy nothing here. Statements are written once with ``?`` placeholders
(SQLite's); :func:`pg` turns them into psycopg's ``%s``. None of our
statements holds a literal ``?`` or ``%``, which is what makes that safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite
from psycopg import AsyncConnection
from psycopg.rows import DictRow


class RowLike(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


class Tx(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[RowLike]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Many:
    """One statement run once per row of ``rows`` (the driver's
    ``executemany``); its row count is the sum over the rows.

    For the event log's appends (~65 rows per simple tool turn) and the
    lease renewals. Measured through the store (``_atomic``: 65 event rows
    and their commit, the two forms alternating, 3 runs × 200 rounds on this
    2-core machine under other load), medians of the three runs: PostgreSQL
    (psycopg, pipeline mode) 4.00 ms per row (runs 3.95-4.06) against
    2.43 ms (2.33-2.43) with ``executemany``; SQLite 0.55 ms (0.55-0.57)
    against 0.48 ms (0.47-0.51). On PostgreSQL an ``INSERT … SELECT FROM
    unnest(arrays)`` took 4.3 ms, no better than one statement per row, so
    psycopg's ``executemany`` it is.
    """

    sql: str
    rows: Sequence[Sequence[Any]]


Statement = tuple[str, Sequence[Any]] | Many
"""What a write is made of: one SQL statement (``?`` placeholders) and its
parameters, or one statement over many rows."""


def pg(sql: str) -> str:
    """A ``?``-placeholder statement in psycopg's ``%s`` style."""
    return sql.replace("?", "%s")


class SQLiteTx:
    __slots__ = ("_db",)

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[RowLike]:
        return list(await self._db.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._db.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)


class PostgresTx:
    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[RowLike]:
        cursor = await self._conn.execute(pg(sql), params)
        return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(pg(sql), params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            async with self._conn.cursor() as cursor:
                await cursor.executemany(pg(sql), rows)
