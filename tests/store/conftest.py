"""Fixtures for store tests: each test gets a store of its own, on SQLite (a
real file) and on PostgreSQL (a schema of its own in the run's database)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from sagents.store import SQLiteStore
from sagents.store.postgres import PostgresStore

StoreFactory = Callable[[], SQLiteStore | PostgresStore]

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""What each backend raises for a duplicate key or a missing parent row."""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A missing parent directory, so open() must create it.
    return tmp_path / "data" / "sage.db"


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, db_path: Path) -> StoreFactory:
    """Builds unopened stores over the same data: opening a second one is
    what a restart (or another process) does."""
    if request.param == "sqlite":
        return lambda: SQLiteStore(db_path)
    url: str = request.getfixturevalue("pg_url")
    return lambda: PostgresStore(url, pool_size=4)


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[SQLiteStore | PostgresStore]:
    async with make_store() as opened:
        yield opened


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    """For the tests of what only the SQLite file promises (WAL, the lock)."""
    async with SQLiteStore(db_path) as opened:
        yield opened
