"""ToolProxy.call under time pressure: timeouts, worker threads, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from sagents.tools import ToolManager, ToolOutcome, ToolSpec, tool


async def call(
    spec: ToolSpec, arguments: str | dict[str, Any] = "{}", *, timeout_s: float = 5
) -> ToolOutcome:
    """Call one tool through a fresh manager and an unrestricted proxy."""
    manager = ToolManager()
    manager.add(spec)
    return await manager.proxy(None).call(spec.name, arguments, timeout_s=timeout_s)


# --- timeouts -------------------------------------------------------------------


async def test_call_timeout() -> None:
    @tool
    async def slow() -> str:
        await asyncio.sleep(10)
        return "late"

    started = time.perf_counter()
    outcome = await call(slow, timeout_s=0.05)
    assert time.perf_counter() - started < 2
    assert not outcome.ok
    assert outcome.content == "tool 'slow' timed out after 0.05 s"
    assert outcome.duration_ms >= 40


async def test_the_specs_smaller_timeout_wins() -> None:
    @tool(timeout_s=0.05)
    async def slow() -> str:
        await asyncio.sleep(10)
        return "late"

    outcome = await call(slow, timeout_s=30)
    assert outcome.content == "tool 'slow' timed out after 0.05 s"


async def test_the_callers_smaller_timeout_wins() -> None:
    @tool(timeout_s=30)
    async def slow() -> str:
        await asyncio.sleep(10)
        return "late"

    outcome = await call(slow, timeout_s=0.05)
    assert outcome.content == "tool 'slow' timed out after 0.05 s"


async def test_sync_tool_timeout_returns_while_the_thread_still_runs() -> None:
    release = threading.Event()
    finished = threading.Event()

    @tool
    def blocking() -> str:
        release.wait(10)
        finished.set()
        return "late"

    try:
        outcome = await call(blocking, timeout_s=0.05)
        assert outcome.content == "tool 'blocking' timed out after 0.05 s"
        assert not finished.is_set()
    finally:
        release.set()
    await asyncio.to_thread(finished.wait, 5)
    assert finished.is_set()


# --- threads and cancellation ---------------------------------------------------


async def test_sync_tool_runs_off_the_event_loop_thread() -> None:
    seen: list[int] = []

    @tool
    def where() -> str:
        seen.append(threading.get_ident())
        time.sleep(0.01)
        return "done"

    outcome = await call(where)
    assert outcome.ok and outcome.content == "done"
    assert seen and seen[0] != threading.get_ident()


async def test_sync_tool_does_not_block_the_loop() -> None:
    @tool
    def sleepy() -> str:
        time.sleep(0.2)
        return "done"

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        outcome = await call(sleepy)
    finally:
        ticking.cancel()
    assert outcome.ok
    assert ticks >= 5


async def test_cancellation_reaches_an_async_tool() -> None:
    started = asyncio.Event()
    after_sleep: list[str] = []
    interrupted: list[str] = []

    @tool
    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            interrupted.append("cancelled")
            raise
        after_sleep.append("ran")
        return "late"

    manager = ToolManager()
    manager.add(slow)
    task = asyncio.create_task(manager.proxy(None).call("slow", "{}", timeout_s=60))
    await asyncio.wait_for(started.wait(), 5)

    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - cancelled_at < 1
    assert task.cancelled()
    assert interrupted == ["cancelled"]
    await asyncio.sleep(0.05)
    assert after_sleep == []


async def test_cancellation_propagates_from_a_sync_tool() -> None:
    entered = threading.Event()
    release = threading.Event()

    @tool
    def blocking() -> str:
        entered.set()
        release.wait(10)
        return "discarded"

    manager = ToolManager()
    manager.add(blocking)
    task = asyncio.create_task(manager.proxy(None).call("blocking", "{}", timeout_s=60))
    try:
        await asyncio.to_thread(entered.wait, 5)
        cancelled_at = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The caller is released at once even though the thread is still blocked.
        assert time.perf_counter() - cancelled_at < 1
        assert not release.is_set()
    finally:
        release.set()
