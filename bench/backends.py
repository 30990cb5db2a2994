"""The server engines of the scale-out scenarios: a PostgreSQL database of
the bench's own and a Redis database to share.

PostgreSQL: the machine's server (``SAGE_BENCH_POSTGRES_ADMIN_URL``, else
the tests' ``SAGE_TEST_POSTGRES_ADMIN_URL``, else
``postgresql://postgres@127.0.0.1:5432/postgres``) gets a fresh database for
the scenario, dropped with its connections at the end, as ``tests/pg.py``
does for a test run. Redis (``SAGE_BENCH_REDIS_URL``, else
``SAGE_TEST_REDIS_URL``, else ``redis://127.0.0.1:6379/13``): Sage's keys
(``sage:session:<id>``) have no configurable prefix, so the bench uses a
database number of its own; the locks it takes are deleted as each run
ends. Its pub/sub channels (``sage:cancel``, ``sage:flushed``) are not
scoped by database number, so other Sage processes on the same Redis hear
the bench's announcements: they name run ids those processes do not have
and are ignored there.

Either engine not answering raises ``Unavailable`` with what to do, and the
scenario is skipped with that message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import redis.asyncio as aioredis

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


class Unavailable(RuntimeError):
    """A server engine the scenario needs does not answer."""


def admin_url() -> str:
    return (
        os.environ.get("SAGE_BENCH_POSTGRES_ADMIN_URL")
        or os.environ.get("SAGE_TEST_POSTGRES_ADMIN_URL")
        or DEFAULT_ADMIN_URL
    )


def redis_url() -> str:
    return (
        os.environ.get("SAGE_BENCH_REDIS_URL")
        or os.environ.get("SAGE_TEST_REDIS_URL")
        or DEFAULT_REDIS_URL
    )


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


async def _admin(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise Unavailable(
            f"PostgreSQL is not reachable at {url} ({_one_line(exc)}); start it, or set "
            "SAGE_BENCH_POSTGRES_ADMIN_URL to a server where this user may create databases"
        ) from None


@asynccontextmanager
async def postgres_database(prefix: str = "sage_bench") -> AsyncIterator[str]:
    """The URL of a fresh database, dropped (with its connections) at the end."""
    url = admin_url()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    async with await _admin(url) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base, _, _ = url.rpartition("/")
        yield f"{base}/{name}"
    finally:
        async with await _admin(url) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def check_redis(url: str) -> None:
    """Raise ``Unavailable`` unless Redis at ``url`` answers a PING."""
    client = aioredis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        raise Unavailable(
            f"Redis is not reachable at {url} ({_one_line(exc)}); start it, or set "
            "SAGE_BENCH_REDIS_URL"
        ) from None
    finally:
        await client.aclose()


async def runs_per_process(database: str) -> dict[int, int]:
    """Runs in the database per pid of the process that ran them (the pid is
    the middle part of ``runs.owner``, host:pid:random)."""
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        cursor = await conn.execute("SELECT owner, count(*) FROM runs GROUP BY owner")
        rows = await cursor.fetchall()
    counts: dict[int, int] = {}
    for owner, count in rows:
        parts = str(owner).split(":")
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
        counts[pid] = counts.get(pid, 0) + int(str(count))
    return counts
