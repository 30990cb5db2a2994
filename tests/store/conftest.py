"""Fixtures for store tests: every test gets a real SQLite file of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sagents.store import SQLiteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A missing parent directory, so open() must create it.
    return tmp_path / "data" / "sage.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened
