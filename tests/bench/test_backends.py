"""The scale-out scenario's engines: a database of its own, dropped after,
and a clear skip (not a failure, not a hang) when PostgreSQL or Redis does
not answer, shown as such in the results table."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench.backends import admin_url, postgres_database
from bench.env import BenchEnv
from bench.report import machine_info, render
from bench.scenarios import two_replicas

NOWHERE_PG = "postgresql://postgres@127.0.0.1:9/postgres"
NOWHERE_REDIS = "redis://127.0.0.1:9/0"


def _databases() -> set[str]:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        return {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database")}


async def test_the_bench_database_is_fresh_and_dropped_after() -> None:
    async with postgres_database() as url:
        name = url.rpartition("/")[2]
        assert name.startswith("sage_bench_") and name in _databases()
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cursor = await conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname='public'")
            assert await cursor.fetchone() == (0,)
    assert name not in _databases()


@pytest.mark.parametrize(
    ("variable", "url", "said"),
    [
        ("SAGE_BENCH_REDIS_URL", NOWHERE_REDIS, f"Redis is not reachable at {NOWHERE_REDIS}"),
        (
            "SAGE_BENCH_POSTGRES_ADMIN_URL",
            NOWHERE_PG,
            f"PostgreSQL is not reachable at {NOWHERE_PG}",
        ),
    ],
)
async def test_an_unreachable_engine_skips_two_replicas_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, url: str, said: str
) -> None:
    monkeypatch.setenv(variable, url)
    env = BenchEnv(mock_url="http://127.0.0.1:9/v1", workdir=tmp_path, quick=True)
    result = await two_replicas.run(env)
    assert result.skipped is not None and said in result.skipped
    assert "\n" not in result.skipped  # one table row
    assert result.metrics == [] and result.ok
    page = render(
        {
            "started": "now",
            "seconds": 0,
            "command": "test",
            "machine": machine_info(),
            "scenarios": [result.to_json()],
        }
    )
    assert f"| two_replicas | skipped: {result.skipped} |" in page
    assert "checks failed" not in page
