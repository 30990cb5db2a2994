"""RedisRunRegistry against the machine's Redis (127.0.0.1:6379), with two
registries standing for two replicas: the session lock is shared, a cancel
sent to either reaches the run, and a dead owner's lock expires."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sagents.events import EventBase, RunCancelled, RunFinished
from sagents.runs.journal import RunJournal
from sagents.runs.redis_registry import REDIS_POOL_SIZE, RedisRunRegistry, session_key
from sagents.runs.registry import RunBody, SessionBusy
from sagents.store import RunRecord, RunStatus, SessionRecord, SQLiteStore
from sagents.store.records import new_id

REDIS_URL = os.environ.get("SAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def opened(lease_s: float = 30.0) -> RedisRunRegistry:
    registry = RedisRunRegistry(REDIS_URL, lease_s=lease_s)
    try:
        await registry.open()
    except Exception as exc:
        pytest.fail(f"Redis is needed by this test and is not reachable at {REDIS_URL} ({exc})")
    return registry


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RedisRunRegistry, RedisRunRegistry]]:
    a, b = await opened(), await opened()
    yield a, b
    await a.aclose()
    await b.aclose()


def waiting_body(cancelled: asyncio.Event) -> RunBody:
    async def body(publish: Callable[[EventBase], None]) -> None:
        try:
            await asyncio.sleep(60)
            publish(RunFinished(answer="late", seq=1))
        except asyncio.CancelledError:
            cancelled.set()
            publish(RunCancelled(reason="stopped", seq=1))

    return body


async def test_the_session_lock_and_cancels_span_replicas(
    replicas: tuple[RedisRunRegistry, RedisRunRegistry],
) -> None:
    a, b = replicas
    sid, run_id = new_id("ses"), new_id("run")
    cancelled = asyncio.Event()
    await a.reserve(sid, run_id)
    a.start(
        run_id=run_id,
        session_id=sid,
        user_id="u",
        body=waiting_body(cancelled),
        on_cancel=lambda: None,
    )
    with pytest.raises(SessionBusy) as busy:
        await b.reserve(sid, new_id("run"))
    assert busy.value.run_id == run_id
    assert await b.find_active(sid) == run_id
    assert b.get(run_id) is None  # the run itself lives on A

    assert await b.request_cancel(run_id, "from B") is True
    await asyncio.wait_for(cancelled.wait(), 5)
    await a.wait(run_id)
    assert a.cancel_reason(run_id) == "from B"
    assert await b.find_active(sid) is None  # released when the run ended
    await b.reserve(sid, new_id("run"))


async def test_a_dead_owners_lock_expires_with_its_lease() -> None:
    dead, alive = await opened(lease_s=0.5), await opened()
    try:
        sid = new_id("ses")
        await dead.reserve(sid, "run_gone")  # reserved, never extended: a dead owner
        with pytest.raises(SessionBusy):
            await alive.reserve(sid, new_id("run"))
        await asyncio.sleep(0.8)
        await alive.reserve(sid, new_id("run"))
    finally:
        await dead.aclose()
        await alive.aclose()


async def test_a_live_owner_keeps_its_lock_past_the_lease() -> None:
    owner, other = await opened(lease_s=0.6), await opened()
    try:
        sid, run_id = new_id("ses"), new_id("run")
        cancelled = asyncio.Event()
        await owner.reserve(sid, run_id)
        owner.start(
            run_id=run_id,
            session_id=sid,
            user_id="u",
            body=waiting_body(cancelled),
            on_cancel=lambda: None,
        )
        await asyncio.sleep(1.5)  # 2.5 leases: extended every 0.2 s
        with pytest.raises(SessionBusy):
            await other.reserve(sid, new_id("run"))
    finally:
        await owner.aclose()
        await other.aclose()


async def test_a_write_to_the_log_wakes_readers_on_other_replicas(tmp_path: Path) -> None:
    """Live fan-out: B's reader of A's run wakes when A's journal writes,
    not at the end of its poll interval."""
    async with SQLiteStore(tmp_path / "sage.db") as store:
        journal = RunJournal(store, owner="a", flush_s=0.01)
        journal.start()
        a = RedisRunRegistry(REDIS_URL, journal=journal)
        await a.open()
        b = await opened()
        try:
            run_id = new_id("run")
            gate = asyncio.Event()

            async def body(publish: Callable[[EventBase], None]) -> None:
                await gate.wait()
                publish(RunFinished(answer="done", seq=1, run_id=run_id))

            a.start(
                run_id=run_id,
                session_id=new_id("ses"),
                user_id="u",
                body=body,
                on_cancel=lambda: None,
            )
            reader = asyncio.create_task(b.wait_for_events(run_id, 60))
            await asyncio.sleep(0.2)  # B is waiting
            gate.set()
            await asyncio.wait_for(reader, 10)  # woken, long before 60 s
            assert [e.seq for e in await store.read_events(run_id)] == [1]
        finally:
            await a.aclose()
            await b.aclose()
            await journal.aclose()


async def test_a_lock_whose_run_has_ended_is_freed(tmp_path: Path) -> None:
    """A dead owner's lock may outlive its run's lease by up to a lease; once
    the store says the run ended (recovery interrupted it), it is stale."""
    async with SQLiteStore(tmp_path / "sage.db") as store:
        journal = RunJournal(store, owner="b")
        b = RedisRunRegistry(REDIS_URL, journal=journal)
        await b.open()
        try:
            sid = new_id("ses")
            await store.create_session(SessionRecord(id=sid, user_id="u"))
            await b.redis.set(session_key(sid), "run_starting", px=60_000)
            assert await b.find_active(sid) == "run_starting"  # no row yet: it stands
            await store.create_run(RunRecord(id="run_starting", session_id=sid, input="x"))
            assert await b.find_active(sid) == "run_starting"  # running: it stands
            await store.finish_run("run_starting", RunStatus.INTERRUPTED)
            assert await b.find_active(sid) is None
            assert await b.redis.get(session_key(sid)) is None
            await b.redis.set(session_key(sid), "run_starting", px=60_000)
            await b.reserve(sid, new_id("run"))  # takes the stale lock over
        finally:
            await b.aclose()


async def test_a_burst_beyond_the_pool_waits_for_connections(
    replicas: tuple[RedisRunRegistry, RedisRunRegistry],
) -> None:
    """Hundreds of commands at once (a burst of chats on one replica) queue
    for the bounded pool instead of failing with "Too many connections"."""
    a, _ = replicas
    burst = [a.find_active(new_id("ses")) for _ in range(5 * REDIS_POOL_SIZE)]
    assert await asyncio.gather(*burst) == [None] * len(burst)
