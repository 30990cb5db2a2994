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

``backend_cpu`` reads the CPU the PostgreSQL backends serving the bench's
database used, so the scale-out sides are charged for the database work
that SQLite does inside the server process. Redis's CPU is not read: its
one process serves every user of this machine's Redis.

Either engine not answering raises ``Unavailable`` with what to do, and the
scenario is skipped with that message.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import redis.asyncio as aioredis

from bench.procs import cpu_seconds

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


async def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend process connected
    to ``database`` (other than the one asking), from /proc: the server's
    share of a phase's work is the growth of this between two calls.
    PostgreSQL's shared background processes (WAL writer, checkpointer) serve
    every database on the server and are not counted."""
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [int(str(row[0])) for row in await cursor.fetchall()]
    used: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # a backend that just ended
            used[pid] = cpu_seconds(pid)
    return used


def cpu_growth(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the backends used between two ``backend_cpu`` calls (a backend
    started in between counts whole; one that ended in between is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
