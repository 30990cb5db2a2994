"""Schema creation and migrations, versioned by ``PRAGMA user_version``.

``user_version`` lives in the database header and changes inside the same
transaction as the DDL (SQLite DDL is transactional), so a migration is either
fully applied with its version number or not at all, even after a kill -9.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

import aiosqlite

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, "schema.sql"),)
"""(version, resource file) in ascending order. To change the schema, append
``(2, "migrate_002.sql")``; never edit a file a released database has run."""

LATEST_VERSION = MIGRATIONS[-1][0]


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer Sage; opening it could corrupt it."""


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
    """Read every migration script; called via ``asyncio.to_thread``."""
    package = resources.files(__package__ or "sagents.store")
    return [
        (version, split_statements(package.joinpath(name).read_text(encoding="utf-8")))
        for version, name in MIGRATIONS
    ]


async def migrate(db: aiosqlite.Connection, migrations: list[tuple[int, list[str]]]) -> int:
    """Bring the schema up to :data:`LATEST_VERSION`; return the version found.

    ``BEGIN IMMEDIATE`` takes the write lock before reading the version, so two
    processes opening a fresh file at once cannot both apply a migration.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        found = int(row[0]) if row is not None else 0
        if found > LATEST_VERSION:
            raise SchemaTooNewError(
                f"database schema version {found} is newer than this Sage "
                f"understands ({LATEST_VERSION}); upgrade Sage"
            )
        for version, statements in migrations:
            if version > found:
                for statement in statements:
                    await db.execute(statement)
        if found < LATEST_VERSION:
            # PRAGMA takes no parameters; the value is our own int constant.
            await db.execute(f"PRAGMA user_version = {LATEST_VERSION:d}")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return found
