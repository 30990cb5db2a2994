"""The stores under the conditions the design promises to survive: a kill -9
mid-write (SQLite), many concurrent writers and callers cancelled
mid-transaction (both backends)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from contextlib import closing, suppress
from pathlib import Path

import sagents.store
from sagents.store import (
    MessageRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    SQLiteStore,
    Store,
    TaskRecord,
)
from tests.store.conftest import INTEGRITY_ERRORS

PROJECT_ROOT = Path(sagents.store.__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from sagents.store import (
        MessageRecord, RunRecord, SessionRecord, SessionStatus, SQLiteStore,
    )

    async def main(path: str) -> None:
        store = SQLiteStore(Path(path))
        await store.open()
        await store.create_session(
            SessionRecord(id="ses_c", user_id="u", status=SessionStatus.RUNNING)
        )
        await store.create_run(RunRecord(id="run_c", session_id="ses_c", input="hi"))
        await store.add_messages(
            [MessageRecord(id="m_first", session_id="ses_c", role="user", content="hi")]
        )
        print("ready", flush=True)
        n = 0
        while True:  # keep writing pairs until killed, so the kill lands mid-write
            await store.add_messages([
                MessageRecord(id=f"m_{n}_a", session_id="ses_c", role="assistant"),
                MessageRecord(id=f"m_{n}_b", session_id="ses_c", role="tool"),
            ])
            print(f"committed {n}", flush=True)
            n += 1

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_kill_9_mid_write_keeps_commits_and_recovers_run(db_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(db_path),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert first.strip() == b"ready"
        acknowledged = -1
        while acknowledged < 20:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            acknowledged = int(line.split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # The writer never closed or checkpointed: its commits live in the WAL.
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.is_file() and wal.stat().st_size > 0

    async with SQLiteStore(db_path) as store:
        assert store.recovered_runs == 1
        assert store.recovered_sessions == 1
        run = await store.get_run("ses_c", "run_c")
        assert run is not None and run.status is RunStatus.INTERRUPTED
        session = await store.get_session("u", "ses_c")
        assert session is not None and session.status is SessionStatus.INTERRUPTED

        ids = [m.id for m in await store.list_messages("ses_c")]
        assert ids[0] == "m_first"
        # Every batch the writer saw return is there, in order...
        expected = [f"m_{n}_{half}" for n in range(acknowledged + 1) for half in "ab"]
        assert ids[1 : 1 + len(expected)] == expected
        # ...and the batch the kill interrupted (if any) is all-or-nothing.
        assert len(ids) % 2 == 1
        # The writer ran on after the last line read, so more may follow;
        # they must still be whole batches, in order.
        tail = ids[1 + len(expected) :]
        batches = range(acknowledged + 1, acknowledged + 1 + len(tail) // 2)
        assert tail == [f"m_{n}_{half}" for n in batches for half in "ab"]

    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_fifty_concurrent_writers_all_land_atomically(store: Store) -> None:
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))

    async def writer(i: int) -> None:
        # Mix single inserts, batches and other writes, so single statements
        # race against open transactions on the shared connection.
        size = 3 if i % 3 == 0 else 1
        batch = [
            MessageRecord(id=f"m_{i}_{j}", session_id="ses_1", role="assistant")
            for j in range(size)
        ]
        await store.add_messages(batch)
        if i % 5 == 0:
            await store.update_session("ses_1", title=f"title {i}")
            await store.upsert_task(TaskRecord(id=f"t{i}", session_id="ses_1", title="t"))

    await asyncio.gather(*(writer(i) for i in range(50)))

    ids = [m.id for m in await store.list_messages("ses_1")]
    expected = {f"m_{i}_{j}" for i in range(50) for j in range(3 if i % 3 == 0 else 1)}
    assert len(ids) == len(expected) == 84
    assert set(ids) == expected
    # Batches are contiguous and in their own order: nothing interleaved.
    for i in range(0, 50, 3):
        start = ids.index(f"m_{i}_0")
        assert ids[start : start + 3] == [f"m_{i}_0", f"m_{i}_1", f"m_{i}_2"]
    assert len(await store.list_tasks("ses_1")) == 10


async def test_failed_batch_does_not_roll_back_concurrent_writes(store: Store) -> None:
    """A single-statement write queued while another coroutine's batch is
    open must not join that transaction and vanish with its rollback."""
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    await store.add_messages([MessageRecord(id="dup", session_id="ses_1", role="user")])
    bad_batch = [
        MessageRecord(id="new", session_id="ses_1", role="user"),
        MessageRecord(id="dup", session_id="ses_1", role="user"),
    ]

    async def single(i: int) -> None:
        # Staggered so some land while the batch's transaction is open.
        for _ in range(i):
            await asyncio.sleep(0)
        await store.add_messages([MessageRecord(id=f"s{i}", session_id="ses_1", role="user")])

    count = 40
    results = await asyncio.gather(
        store.add_messages(bad_batch), *(single(i) for i in range(count)), return_exceptions=True
    )
    assert isinstance(results[0], INTEGRITY_ERRORS)
    assert results[1:] == [None] * count
    ids = {m.id for m in await store.list_messages("ses_1")}
    assert ids == {"dup"} | {f"s{i}" for i in range(count)}


async def test_cancelled_batch_still_commits_and_leaves_no_open_transaction(
    sqlite_store: SQLiteStore, db_path: Path
) -> None:
    store = sqlite_store
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    batch = [MessageRecord(id=f"m{j}", session_id="ses_1", role="assistant") for j in range(5)]
    pending = asyncio.create_task(store.add_messages(batch))
    await asyncio.sleep(0)  # let it start its transaction
    pending.cancel()
    with suppress(asyncio.CancelledError):
        await pending
    assert pending.cancelled()

    # The next write must not be swallowed by a dangling BEGIN: another
    # connection (another process) sees it committed.
    await store.add_messages([MessageRecord(id="after", session_id="ses_1", role="user")])
    with closing(sqlite3.connect(db_path)) as conn:
        seen = [r[0] for r in conn.execute("SELECT id FROM messages ORDER BY seq")]
    assert seen == ["m0", "m1", "m2", "m3", "m4", "after"]


async def test_close_waits_for_a_cancelled_batch(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    batch = [MessageRecord(id=f"m{j}", session_id="ses_1", role="user") for j in range(3)]
    pending = asyncio.create_task(store.add_messages(batch))
    await asyncio.sleep(0)  # let it start its transaction
    pending.cancel()
    await store.close()
    assert pending.cancelled()

    async with SQLiteStore(db_path) as reopened:
        assert [m.id for m in await reopened.list_messages("ses_1")] == ["m0", "m1", "m2"]
