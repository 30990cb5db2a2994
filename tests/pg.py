"""A PostgreSQL database of its own for each test run.

The machine's server (127.0.0.1:5432, user postgres, trust auth; another
admin URL in ``SAGE_TEST_POSTGRES_ADMIN_URL``) gets a database named after
this process at the first test that asks, dropped when the run ends. Each
test then gets a schema of its own inside it (``search_path`` set through the
URL's ``options``), so tests never see each other's rows and no test pays for
a ``CREATE DATABASE``.

When the server cannot be reached, the tests that need it fail with a line
saying so: a silent skip would let a broken PostgreSQL path pass CI.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

ADMIN_URL = os.environ.get(
    "SAGE_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_schemas = itertools.count(1)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is needed by this test and is not reachable at {ADMIN_URL} ({exc}). "
            "Start it, or point SAGE_TEST_POSTGRES_ADMIN_URL at a server where this user may "
            "create databases.",
            pytrace=False,
        )


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh database, dropped (with its connections) at the end."""
    name = f"sage_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(ADMIN_URL, name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """URL of an empty schema of its own in the run's database."""
    schema = f"t_{next(_schemas)}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{pg_database}?options={quote(f'-csearch_path={schema}')}"
