"""What only the PostgreSQL store promises: versioned migrations recorded in
``schema_migrations`` and replicas that start together."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from sagents.store import SchemaTooNewError, SessionRecord
from sagents.store._schema import migration_files
from sagents.store.postgres import PostgresStore


def versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    return [int(r[0]) for r in rows]


async def test_migrations_are_applied_once_and_recorded(pg_url: str) -> None:
    latest = len(migration_files("postgres"))
    async with PostgresStore(pg_url) as store:
        await store.create_session(SessionRecord(id="s1", user_id="u"))
    assert versions(pg_url) == list(range(1, latest + 1))
    async with PostgresStore(pg_url) as store:  # nothing left to apply
        assert await store.get_session("u", "s1") is not None
    assert versions(pg_url) == list(range(1, latest + 1))


async def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url, pool_size=2) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        assert versions(pg_url) == list(range(1, len(migration_files("postgres")) + 1))
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    async with PostgresStore(pg_url):
        pass
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    store = PostgresStore(pg_url)
    with pytest.raises(SchemaTooNewError, match="99"):
        await store.open()
    with pytest.raises(RuntimeError, match="not open"):
        await store.list_messages("s1")


async def test_an_unreachable_server_fails_open_with_its_address() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:9/none?connect_timeout=1")
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        await store.open()
