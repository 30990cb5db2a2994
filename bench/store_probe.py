"""Counting what a Runtime's store asks of SQLite, from the bench's side.

The store's connection is private to ``sagents/``, and the store is being
reworked (a batching writer), so the probe neither imports nor names its
attributes: it walks the objects the store refers to (``gc.get_referents``,
a few levels deep) and takes every SQLite connection it finds there.

What is counted, per connection found:

- **round trips**: for an aiosqlite connection, every call handed to its
  SQLite thread (an ``execute``, ``executemany``, ``commit``, a cursor's
  ``fetchone``…), each of which the event loop awaits. This is the issue's
  "round trips to the SQLite thread". aiosqlite has no public hook for it,
  so the probe wraps the connection's ``_execute`` (the one method every
  call goes through) on that instance only, and removes the wrapper after.
- **statements**: every SQL statement SQLite ran, from sqlite3's trace
  callback (public API; an ``executemany`` of n rows is n statements).
- **transactions**: commits, read from the same trace: each ``COMMIT`` /
  ``END``, plus each write statement run outside ``BEGIN … COMMIT`` (in
  autocommit mode it is its own transaction). Reads outside a transaction
  are not counted as transactions.

A store that reaches its database another way (a server database, a plain
sqlite3 connection in a thread of its own) has no aiosqlite connection to
find: the probe says so (``attach`` returns False) rather than count wrong.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

READS = ("SELECT", "PRAGMA", "WITH", "EXPLAIN")
SKIP = (type, types.ModuleType, types.FunctionType, types.CodeType, str, bytes, int, float)
"""Not walked: a store's data and code lead nowhere near its connection."""


def find_connections(root: object, depth: int = 5) -> list[aiosqlite.Connection]:
    """The aiosqlite connections reachable from ``root`` within ``depth`` references."""
    found: list[aiosqlite.Connection] = []
    seen: set[int] = set()
    level: list[object] = [root]
    for _ in range(depth):
        following: list[object] = []
        for obj in level:
            for ref in gc.get_referents(obj):
                if id(ref) in seen or isinstance(ref, SKIP):
                    continue
                seen.add(id(ref))
                if isinstance(ref, aiosqlite.Connection):
                    found.append(ref)
                else:
                    following.append(ref)
        level = following
    return found


@dataclass
class StoreProbe:
    """Counts round trips, statements and transactions while attached."""

    connections: list[aiosqlite.Connection] = field(default_factory=list)
    round_trips: int = 0
    statements: int = 0
    transactions: int = 0
    _in_transaction: bool = False

    async def attach(self, store: object) -> bool:
        """Start counting on every connection of ``store``; False if none was found."""
        self.connections = find_connections(store)
        for conn in self.connections:
            await conn.set_trace_callback(self._traced)
            self._wrap(conn)
        self.reset()
        return bool(self.connections)

    async def detach(self) -> None:
        for conn in self.connections:
            delattr(conn, "_execute")  # the instance's wrapper; the class method remains
            await conn.set_trace_callback(None)
        self.connections = []

    def reset(self) -> None:
        self.round_trips = self.statements = self.transactions = 0

    def _wrap(self, conn: aiosqlite.Connection) -> None:
        original: Callable[..., Awaitable[Any]] = conn._execute

        async def counted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            self.round_trips += 1
            return await original(fn, *args, **kwargs)

        setattr(conn, "_execute", counted)  # noqa: B010 (an instance attribute, on purpose)

    def _traced(self, sql: str) -> None:
        """Runs in the SQLite thread; only integer updates, under the GIL."""
        self.statements += 1
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head == "BEGIN":
            self._in_transaction = True
        elif head in ("COMMIT", "END", "ROLLBACK"):
            self._in_transaction = False
            self.transactions += head != "ROLLBACK"
        elif not self._in_transaction and head not in READS:
            self.transactions += 1
