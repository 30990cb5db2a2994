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
