"""Numbered schema migrations, applied at start-up by both backends.

Each backend has a folder of files named ``NNNN_what.sql`` under
``sagents/store/migrations/<backend>/``; the number is the schema version the
file brings the database to. Both folders carry the same numbers with the
same meaning, written in each engine's dialect. To change the schema, add the
next number to both; never edit a file a released database has run.

SQLite records the version in ``PRAGMA user_version``, which lives in the
database header and changes inside the same transaction as the DDL (SQLite
DDL is transactional), so a migration is either fully applied with its
version number or not at all, even after a kill -9. PostgreSQL records it in
``schema_migrations`` (see ``_pg_schema``).
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from typing import Literal

import aiosqlite

Backend = Literal["sqlite", "postgres"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer Sage; opening it could corrupt it."""


def migration_files(backend: Backend) -> list[tuple[int, str]]:
    """(version, script) of every migration of ``backend``, in order.

    Versions must run 1, 2, 3… without a gap: a missing file would otherwise
    be skipped silently and leave a database that claims a version whose
    changes it lacks. Blocking file reads: call via ``asyncio.to_thread``.
    """
    folder = resources.files(__package__ or "sagents.store").joinpath("migrations", backend)
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is not None:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..n: {versions}")
    return found


def latest_version(backend: Backend) -> int:
    return len(migration_files(backend))


def split_statements(script: str) -> list[str]:
    """Split a script into single statements.

    ``executescript`` cannot be used: it commits any open transaction first,
    which would break the check-then-migrate transaction in :func:`migrate`.
    ``sqlite3.complete_statement`` understands comments and string literals,
    so a ``;`` inside either does not split a statement.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def load_migrations() -> list[tuple[int, list[str]]]:
    """The SQLite migrations split into statements; via ``asyncio.to_thread``."""
    return [(v, split_statements(script)) for v, script in migration_files("sqlite")]


async def migrate(db: aiosqlite.Connection, migrations: list[tuple[int, list[str]]]) -> int:
    """Bring a SQLite schema up to the newest migration; return the version found.

    ``BEGIN IMMEDIATE`` takes the write lock before reading the version, so two
    processes opening a fresh file at once cannot both apply a migration.
    """
    latest = migrations[-1][0]
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        found = int(row[0]) if row is not None else 0
        if found > latest:
            raise SchemaTooNewError(
                f"database schema version {found} is newer than this Sage "
                f"understands ({latest}); upgrade Sage"
            )
        for version, statements in migrations:
            if version > found:
                for statement in statements:
                    await db.execute(statement)
        if found < latest:
            # PRAGMA takes no parameters; the value is our own int.
            await db.execute(f"PRAGMA user_version = {latest:d}")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return found
