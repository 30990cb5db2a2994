"""LocalRunRegistry: busy sessions, cancel, batches and the retention sweep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from sagents.events import AgentNotice, EventBase, RunCancelled, RunFailed, RunFinished
from sagents.request import RunRequest
from sagents.runs.channel import EventsDropped
from sagents.runs.local import LocalRunRegistry
from sagents.runs.registry import SessionBusy
from sagents.sagent import SAgent
from sagents.store.records import RunStatus
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import RuntimeFactory, make_settings


def notice(seq: int) -> AgentNotice:
    return AgentNotice(code="n", message=str(seq), seq=seq)


def finished(seq: int) -> RunFinished:
    return RunFinished(answer="done", seq=seq)


def body_of(events: int, gate: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
    """A well-behaved body: ``events`` events, the last one terminal."""

    async def body(publish: Callable[[EventBase], None]) -> None:
        for i in range(1, events):
            publish(notice(i))
        if gate is not None:
            await gate.wait()
        publish(finished(events))

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


# -- a run that ends without its terminal event --------------------------------


async def test_a_body_that_raises_before_its_terminal_event_ends_in_run_failed() -> None:
    reg = LocalRunRegistry()
    started = asyncio.Event()

    async def body(publish: Callable[[EventBase], None]) -> None:
        publish(notice(1))
        await started.wait()
        raise RuntimeError("a bug in the run body")

    start(reg, "r1", "s1", body)
    reader = asyncio.create_task(_events(reg, "r1"))  # a live reader, waiting
    await asyncio.sleep(0)
    started.set()
    events = await asyncio.wait_for(reader, 5)
    assert [e.seq for e in events] == [1, 2]
    last = events[-1]
    assert isinstance(last, RunFailed) and last.error_type == "InternalError"
    assert "r1" in last.message and "bug" not in last.message  # no internal text leaks
    assert (last.run_id, last.session_id) == ("r1", "s1") and last.ts > 0
    # A late reader replays the same end.
    assert [e.type for e in await _events(reg, "r1")] == ["agent.notice", "run.failed"]


@pytest.mark.parametrize("reader", ["events", "batches"])
async def test_live_readers_of_a_body_that_fails_at_once_get_its_end_and_stop(
    reader: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that raises before publishing anything: every reader already
    waiting (one event at a time, or in batches like the SSE stream) gets
    one ``run.failed`` and then the end of the run, instead of waiting on."""
    reg = LocalRunRegistry()
    go = asyncio.Event()

    async def body(publish: Callable[[EventBase], None]) -> None:
        await go.wait()
        raise RuntimeError("a bug before the first event")

    start(reg, "r1", "s1", body)
    readers = [asyncio.create_task(_read(reg, "r1", reader)) for _ in range(3)]
    await asyncio.sleep(0)
    go.set()
    for events in await asyncio.wait_for(asyncio.gather(*readers), 5):
        assert [(e.seq, e.type) for e in events] == [(1, "run.failed")]
    assert "a bug before the first event" in caplog.text  # logged for the operator


async def _read(reg: LocalRunRegistry, run_id: str, how: str) -> list[EventBase]:
    if how == "events":
        return [e async for e in reg.subscribe(run_id)]
    return [e async for batch in reg.subscribe_batches(run_id) for e in batch]


async def test_a_body_that_returns_without_a_terminal_event_ends_in_run_failed() -> None:
    reg = LocalRunRegistry()

    async def body(publish: Callable[[EventBase], None]) -> None:
        publish(notice(1))

    start(reg, "r1", "s1", body)
    await reg.wait("r1")
    assert [e.type for e in await _events(reg, "r1")] == ["agent.notice", "run.failed"]


async def test_a_cancelled_body_without_a_terminal_event_ends_in_run_cancelled() -> None:
    reg = LocalRunRegistry()

    async def body(publish: Callable[[EventBase], None]) -> None:
        publish(notice(1))
        await asyncio.get_running_loop().create_future()  # until cancelled

    start(reg, "r1", "s1", body)
    await asyncio.sleep(0)
    assert reg.cancel("r1", "stop it")
    await reg.wait("r1")
    events = await _events(reg, "r1")
    assert isinstance(events[-1], RunCancelled) and events[-1].reason == "stop it"
    assert [e.seq for e in events] == [1, 2]


async def test_a_terminal_event_from_the_body_is_not_doubled() -> None:
    reg = LocalRunRegistry()
    start(reg, "r1", "s1", body_of(3))
    await reg.wait("r1")
    assert [e.type for e in await _events(reg, "r1")] == [
        "agent.notice",
        "agent.notice",
        "run.finished",
    ]


async def _events(reg: LocalRunRegistry, run_id: str) -> list[EventBase]:
    return [e async for e in reg.subscribe(run_id)]


# -- what the registry keeps ---------------------------------------------------


def big_body(count: int, size: int):  # type: ignore[no-untyped-def]
    async def body(publish: Callable[[EventBase], None]) -> None:
        for i in range(1, count):
            publish(AgentNotice(code="n", message="x" * size, seq=i))
        publish(finished(count))

    return body


async def test_each_run_keeps_at_most_its_cap_and_always_its_end() -> None:
    reg = LocalRunRegistry(max_run_bytes=100_000)
    start(reg, "r1", "s1", big_body(200, 2_000))  # ~500 KB published
    await reg.wait("r1")
    first = reg.first_kept_seq("r1")
    assert first > 1
    kept = [e async for e in reg.subscribe("r1", first - 1)]
    assert [e.seq for e in kept] == list(range(first, 201))
    assert isinstance(kept[-1], RunFinished)
    with pytest.raises(EventsDropped):
        await _events(reg, "r1")


async def test_finished_runs_past_the_total_budget_are_forgotten_oldest_first() -> None:
    reg = LocalRunRegistry(max_run_bytes=100_000, max_total_bytes=250_000)
    for number in range(1, 6):  # ~75-100 KB kept each
        start(reg, f"r{number}", f"s{number}", big_body(100, 2_000))
        await reg.wait(f"r{number}")
    kept = [n for n in range(1, 6) if reg.get(f"r{n}") is not None]
    # All within retention, but over the budget: the oldest went first.
    assert kept[0] > 1 and kept == list(range(kept[0], 6))
    start(reg, "r6", "s6", body_of(1))  # the sweep runs as a run starts
    await reg.wait("r6")
    kept = [n for n in range(1, 6) if reg.get(f"r{n}") is not None]
    assert len(kept) * 75_000 <= 250_000


async def test_the_run_that_just_ended_stays_even_alone_over_the_budget() -> None:
    reg = LocalRunRegistry(max_run_bytes=100_000, max_total_bytes=70_000)
    start(reg, "r1", "s1", big_body(100, 2_000))
    await reg.wait("r1")
    assert reg.get("r1") is not None
    start(reg, "r2", "s2", big_body(100, 2_000))
    await reg.wait("r2")
    assert reg.get("r1") is not None  # still the newest finished when r2 started
    start(reg, "r3", "s3", body_of(1))
    await reg.wait("r3")
    assert reg.get("r1") is None and reg.get("r2") is not None


async def test_an_in_process_reader_that_falls_behind_is_told_and_the_run_goes_on(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    words = " ".join(f"w{i}" for i in range(3000))
    llm = ScriptedLLM([Turn(text=words, faults={"token_delay_s": 0.001})])
    rt = await make_runtime(llm, settings=make_settings(tmp_path, run_log_max_bytes=65_536))
    request = RunRequest(message="long", deep_thinking=False, multi_agent=False)
    stream = SAgent(rt).run_stream(request, "u1")
    first = await anext(stream)
    for _ in range(1000):  # the reader does not read meanwhile
        if rt.runs.last_seq(first.run_id) >= 1000:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(EventsDropped):
        while True:
            await anext(stream)
    await rt.runs.wait(first.run_id)
    run = await rt.store.get_run(first.session_id, first.run_id)
    assert run is not None and run.status is RunStatus.FINISHED  # not cancelled
