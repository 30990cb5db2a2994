"""``sage doctor``'s view of where state lives: the store and the run
registry in use, and whether the servers behind them answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from sagents.settings import Settings

TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class Backend:
    role: str
    what: str
    ok: bool
    detail: str


def where(url: str) -> str:
    """A server URL without its credentials, for display."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def check_backends(settings: Settings) -> list[Backend]:
    store, registry = await asyncio.gather(_store(settings), _registry(settings))
    return [store, registry]


async def _store(settings: Settings) -> Backend:
    if settings.database_url is None:
        exists = "exists" if settings.db_path.exists() else "new"
        return Backend("store", f"SQLite {settings.db_path}", True, exists)
    import psycopg

    url = settings.database_url.get_secret_value()
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=TIMEOUT_S) as conn:
            cursor = await conn.execute("SELECT version()")
            row = await cursor.fetchone()
    except Exception as exc:
        return Backend("store", f"PostgreSQL {where(url)}", False, str(exc).strip())
    return Backend("store", f"PostgreSQL {where(url)}", True, str(row[0] if row else "")[:60])


async def _registry(settings: Settings) -> Backend:
    if settings.redis_url is None:
        return Backend("run registry", "in-process", True, "one process")
    import redis.asyncio as aioredis

    url = settings.redis_url.get_secret_value()
    client = aioredis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S)
    try:
        await client.ping()
        info = await client.info("server")
    except Exception as exc:
        return Backend("run registry", f"Redis {where(url)}", False, str(exc).strip())
    finally:
        await client.aclose()
    return Backend(
        "run registry", f"Redis {where(url)}", True, f"redis {info.get('redis_version')}"
    )
