"""One owner per data directory: a second Runtime on it is refused with the
holder's pid, the lock goes with the Runtime (or the process, even on
kill -9), and a Runtime given its own store does not take it."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis.exceptions

from sagents.data_dir_lock import LOCK_FILE, DataDirInUse, DataDirLock
from sagents.runtime import Runtime
from sagents.store import SQLiteStore
from sagents.store.postgres import PostgresStore
from sagents.testing import ScriptedLLM
from tests.conftest import make_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


async def test_a_second_runtime_on_the_directory_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = await Runtime.create(settings, llm=ScriptedLLM())
    try:
        with pytest.raises(DataDirInUse) as caught:
            await Runtime.create(settings, llm=ScriptedLLM())
        assert caught.value.pid == os.getpid()
        text = str(caught.value)
        assert f"pid {os.getpid()}" in text and str(tmp_path) in text
        assert "sage chat" in text and "SAGE_DATA_DIR" in text
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())
        # Another directory is another owner.
        other = await Runtime.create(make_settings(tmp_path / "other"), llm=ScriptedLLM())
        await other.aclose()
    finally:
        await first.aclose()
    again = await Runtime.create(settings, llm=ScriptedLLM())
    await again.aclose()


async def test_a_runtime_that_fails_to_start_gives_the_lock_back(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.db_path.mkdir(parents=True)  # a directory where the database file should be
    with pytest.raises(sqlite3.OperationalError):
        await Runtime.create(settings, llm=ScriptedLLM())
    DataDirLock.acquire(tmp_path).release()


async def test_a_runtime_with_its_own_store_takes_no_lock(tmp_path: Path) -> None:
    """The seam for the scale-out mode: a shared server database is opened by
    several replicas on purpose, so only the embedded store locks."""
    settings = make_settings(tmp_path)
    rt = await Runtime.create(
        settings, llm=ScriptedLLM(), store=SQLiteStore(tmp_path / "elsewhere.db")
    )
    try:
        assert rt.data_dir_lock is None
        DataDirLock.acquire(tmp_path).release()
    finally:
        await rt.aclose()


async def test_runtimes_on_postgres_share_a_data_dir_without_the_lock(
    tmp_path: Path, pg_url: str
) -> None:
    """SAGE_DATABASE_URL selects the PostgreSQL store, which replicas share by
    design: two Runtimes on one data directory both start, neither locks."""
    settings = make_settings(tmp_path, database_url=pg_url)
    first = await Runtime.create(settings, llm=ScriptedLLM())
    try:
        second = await Runtime.create(settings, llm=ScriptedLLM())
        try:
            assert isinstance(first.store, PostgresStore)
            assert first.data_dir_lock is None and second.data_dir_lock is None
            assert not settings.db_path.exists()
        finally:
            await second.aclose()
    finally:
        await first.aclose()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sagents.data_dir_lock import DataDirLock

    lock = DataDirLock.acquire(Path(sys.argv[1]))
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_the_kernel_releases_the_lock_of_a_killed_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], env=env, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
        with pytest.raises(DataDirInUse) as caught:
            DataDirLock.acquire(tmp_path)
        assert caught.value.pid == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    # No clean-up ran, the file (with the dead pid) is still there: no matter.
    assert (tmp_path / LOCK_FILE).read_text().strip() == str(proc.pid)
    lock = DataDirLock.acquire(tmp_path)
    assert lock.held
    lock.release()
    lock.release()  # twice is fine
    assert not lock.held


async def test_a_redis_that_does_not_answer_fails_the_start_cleanly(
    tmp_path: Path, pg_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=pg_url, redis_url="redis://127.0.0.1:9/0")
    with pytest.raises(redis.exceptions.ConnectionError, match=r"127\.0\.0\.1:9"):
        await Runtime.create(settings, llm=ScriptedLLM())
    # Nothing left running: the journal's writer was stopped with the store.
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "sage-run-journal"]
