"""LocalRunRegistry: busy sessions, cancel, batches and the retention sweep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sagents.events import AgentNotice, EventBase
from sagents.runs.local import LocalRunRegistry
from sagents.runs.registry import SessionBusy


def notice(seq: int) -> AgentNotice:
    return AgentNotice(code="n", message=str(seq), seq=seq)


def body_of(events: int, gate: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
    async def body(publish: Callable[[EventBase], None]) -> None:
        for i in range(1, events + 1):
            publish(notice(i))
        if gate is not None:
            await gate.wait()

    return body


def start(reg: LocalRunRegistry, run_id: str, session_id: str, body) -> None:  # type: ignore[no-untyped-def]
    reg.start(run_id=run_id, session_id=session_id, user_id="u", body=body, on_cancel=lambda: None)


async def test_a_second_run_on_a_busy_session_is_refused() -> None:
    reg = LocalRunRegistry()
    gate = asyncio.Event()
    start(reg, "r1", "s1", body_of(1, gate))
    with pytest.raises(SessionBusy):
        start(reg, "r2", "s1", body_of(1))
    gate.set()
    await reg.wait("r1")
    start(reg, "r2", "s1", body_of(1))  # free again once the first ended
    await reg.wait("r2")


async def test_finished_runs_are_kept_for_retention_then_swept() -> None:
    keep = LocalRunRegistry(retention_s=900)
    drop = LocalRunRegistry(retention_s=0)
    for reg in (keep, drop):
        start(reg, "r1", "s1", body_of(3))
        await reg.wait("r1")
        start(reg, "r2", "s2", body_of(1))  # a new run triggers the sweep
        await reg.wait("r2")
    assert keep.get("r1") is not None
    assert [e.seq async for e in keep.subscribe("r1")] == [1, 2, 3]
    assert drop.get("r1") is None
    assert drop.get("r2") is not None  # finished after the sweep ran


async def test_batches_and_single_events_carry_the_same_log() -> None:
    reg = LocalRunRegistry()
    start(reg, "r1", "s1", body_of(5))
    await reg.wait("r1")
    batches = [[e.seq for e in b] async for b in reg.subscribe_batches("r1", 1)]
    assert batches == [[2, 3, 4, 5]]
    assert [b async for b in reg.subscribe_batches("missing")] == []
