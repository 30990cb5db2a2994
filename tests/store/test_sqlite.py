"""What only the SQLite store promises: the file, WAL, schema versioning in
``user_version`` and upgrades of an existing data directory."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sagents.store import (
    RunStatus,
    SchemaTooNewError,
    SQLiteStore,
    Store,
)
from sagents.store._schema import migration_files

LATEST = len(migration_files("sqlite"))


def raw_scalar(path: Path, sql: str, params: tuple[object, ...] = ()) -> object:
    """One value read over a separate plain connection: what another process
    would see, so only committed data counts."""
    with closing(sqlite3.connect(path)) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


async def test_open_creates_dirs_schema_and_wal(db_path: Path) -> None:
    store: Store = SQLiteStore(db_path)
    await store.open()
    try:
        assert db_path.is_file()  # noqa: ASYNC240 - a stat in a test is fine
        assert raw_scalar(db_path, "PRAGMA user_version") == LATEST
        assert raw_scalar(db_path, "PRAGMA journal_mode") == "wal"
        tables = raw_scalar(
            db_path,
            "SELECT group_concat(name, ',') FROM"
            " (SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name)",
        )
        assert tables == "approvals,messages,run_events,runs,sessions,tasks"
    finally:
        await store.close()


async def test_newer_schema_is_refused(db_path: Path) -> None:
    async with SQLiteStore(db_path):
        pass
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    store = SQLiteStore(db_path)
    with pytest.raises(SchemaTooNewError):
        await store.open()
    with pytest.raises(RuntimeError, match="not open"):
        await store.list_messages("ses_1")
    assert raw_scalar(db_path, "PRAGMA user_version") == 99


async def test_use_before_open_and_double_open_fail(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_session("alice", "ses_1")
    await store.open()
    try:
        with pytest.raises(RuntimeError, match="already open"):
            await store.open()
    finally:
        await store.close()
    await store.close()  # idempotent
    with pytest.raises(RuntimeError, match="not open"):
        await store.list_tasks("ses_1")


async def test_a_version_1_data_dir_upgrades_in_place(db_path: Path) -> None:
    """A data directory written before the migrations folder existed (the
    old schema.sql, user_version 1) keeps its rows and gains what later
    migrations add, in one transaction."""
    db_path.parent.mkdir(parents=True)
    [(_, first), *_] = migration_files("sqlite")
    with closing(sqlite3.connect(db_path)) as conn:
        conn.executescript(first)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO sessions VALUES ('s1', 'alice', 'old', 'completed', 1.0, 2.0)")
        conn.execute(
            "INSERT INTO runs (id, session_id, status, input, started_at)"
            " VALUES ('r1', 's1', 'finished', 'hi', 1.0)"
        )
        conn.commit()
    async with SQLiteStore(db_path) as store:
        session = await store.get_session("alice", "s1")
        assert session is not None and session.title == "old"
        run = await store.get_run("s1", "r1")
        assert run is not None and run.status is RunStatus.FINISHED
    assert raw_scalar(db_path, "PRAGMA user_version") == LATEST == 3
    assert raw_scalar(db_path, "SELECT COUNT(*) FROM run_events") == 0
    assert raw_scalar(db_path, "SELECT lease_until FROM runs WHERE id = 'r1'") is None
