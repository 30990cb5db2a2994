"""RedisRunRegistry against the machine's Redis (127.0.0.1:6379), with two
registries standing for two replicas: the session lock is shared, a cancel
sent to either reaches the run, and a dead owner's lock expires."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import pytest

from sagents.events import EventBase, RunCancelled, RunFinished
from sagents.runs.redis_registry import RedisRunRegistry
from sagents.runs.registry import RunBody, SessionBusy
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
