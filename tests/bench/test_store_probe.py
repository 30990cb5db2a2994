"""The bench's store probe counts what it says it counts: every call handed
to aiosqlite's thread, every SQL statement, and commits (explicit or
autocommitted writes, not reads), on a connection it finds however deep the
store keeps it, and it leaves the connection as it was when detached."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bench.store_probe import StoreProbe


@dataclass
class Writer:
    db: aiosqlite.Connection


@dataclass
class Store:
    writer: Writer


async def test_counts_round_trips_statements_and_commits(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "t.db", isolation_level=None) as db:
        await db.execute("CREATE TABLE t (a INTEGER)")
        probe = StoreProbe()
        assert await probe.attach(Store(Writer(db)))
        assert len(probe.connections) == 1

        await db.execute("INSERT INTO t VALUES (1)")  # autocommit: its own transaction
        assert (probe.round_trips, probe.statements, probe.transactions) == (1, 1, 1)

        await db.execute("BEGIN IMMEDIATE")
        await db.executemany("INSERT INTO t VALUES (?)", [(2,), (3,), (4,)])
        await db.execute("COMMIT")
        assert (probe.round_trips, probe.statements, probe.transactions) == (4, 6, 2)

        cursor = await db.execute("SELECT count(*) FROM t")  # a read: no transaction
        assert await cursor.fetchone() == (4,)
        assert (probe.round_trips, probe.statements, probe.transactions) == (6, 7, 2)

        await probe.detach()
        await db.execute("INSERT INTO t VALUES (5)")
        assert (probe.round_trips, probe.statements, probe.transactions) == (6, 7, 2)
        assert "_execute" not in vars(db)


async def test_says_so_when_no_connection_is_reachable() -> None:
    probe = StoreProbe()
    assert not await probe.attach(object())
