"""The durable event log through real servers: a run's events outlive the
process that ran it. A client resumes (Last-Event-ID) on a new server over
the same data and gets exactly the events it missed, ending with a terminal
one; a finished run replays whole from the store."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

import httpx2

from sagents.events import EventBase, RunCancelled, RunFailed
from sagents.testing import MockLLMServer, Script, Turn
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, spawn, stop, wait_ready

SLOW = Turn(text="word " * 400, faults={"token_delay_s": 0.02})
SIMPLE_GO = {**SIMPLE, "message": "go"}


async def read_some(http: httpx2.AsyncClient, deltas: int) -> list[EventBase]:
    """Start a chat that goes on without us, and read its first events."""
    seen: list[EventBase] = []
    payload = {**SIMPLE, "message": "go", "on_disconnect": "continue"}
    async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
        seen.append(event)
        if sum(e.type == "message.delta" for e in seen) >= deltas:
            break
    return seen


async def events_of(
    http: httpx2.AsyncClient, sid: str, run_id: str, after: int | None = None
) -> list[EventBase]:
    headers = {} if after is None else {"Last-Event-ID": str(after)}
    path = f"/api/v1/sessions/{sid}/runs/{run_id}/events"
    return [e async for e in sse_events(http, "GET", path, headers=headers)]


def assert_continues(before: list[EventBase], after: list[EventBase]) -> None:
    """No gap, no duplicate: seqs run on from the last one seen."""
    seqs = [e.seq for e in before + after]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_resume_and_replay_after_a_restart(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    mock_llm.set_script(Script(turns=[SLOW]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            seen = await read_some(http, deltas=5)
    finally:
        stop(proc)  # a graceful stop: the run is cancelled, its log flushed
    sid, run_id = seen[0].session_id, seen[0].run_id

    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            rest = await events_of(http, sid, run_id, after=seen[-1].seq)
            whole = await events_of(http, sid, run_id)
            past = await http.get(
                f"/api/v1/sessions/{sid}/runs/{run_id}/events",
                headers={"Last-Event-ID": str(whole[-1].seq + 5)},
            )
    finally:
        stop(proc)
    assert_continues(seen, rest)
    assert isinstance(rest[-1], RunCancelled)
    assert [e.type for e in rest].count("run.cancelled") == 1
    # The replay is the same events, field for field.
    assert [e.model_dump() for e in whole] == [e.model_dump() for e in seen + rest]
    assert past.status_code == 400 and past.json()["error"]["type"] == "bad_last_event_id"


async def test_a_killed_servers_run_ends_with_a_terminal_event_after_restart(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    mock_llm.set_script(Script(turns=[SLOW]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, mock_llm.base_url, SAGE_EVENT_LOG_FLUSH_S="0.05")
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            seen = await read_some(http, deltas=5)
        time.sleep(1.0)  # noqa: ASYNC251 - what was seen is flushed (0.05 s batches)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    sid, run_id = seen[0].session_id, seen[0].run_id

    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            rest = await asyncio.wait_for(events_of(http, sid, run_id, after=seen[-1].seq), 30)
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
    finally:
        with contextlib.suppress(Exception):
            stop(proc)
    assert_continues(seen, rest)
    assert isinstance(rest[-1], RunFailed) and rest[-1].error_type == "RunInterrupted"
    assert {r["id"]: r["status"] for r in detail["runs"]}[run_id] == "interrupted"


async def test_with_the_event_log_off_a_finished_run_is_not_kept_past_a_restart(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    """SAGE_EVENT_LOG_ENABLED=false: the run replays from memory while the
    server lives, and after a restart answers 410 as before the log existed."""
    mock_llm.set_script(Script(turns=[Turn(text="one two three")]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, mock_llm.base_url, SAGE_EVENT_LOG_ENABLED="false")
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            ran = [e async for e in sse_events(http, "POST", "/api/v1/chat", json=SIMPLE_GO)]
            sid, run_id = ran[0].session_id, ran[0].run_id
            from_memory = await events_of(http, sid, run_id)
    finally:
        stop(proc)
    assert ran[-1].type == "run.finished"
    assert [e.model_dump() for e in from_memory] == [e.model_dump() for e in ran]

    proc = spawn(tmp_path, port, mock_llm.base_url, SAGE_EVENT_LOG_ENABLED="false")
    try:
        wait_ready(url, proc, timeout_s=90)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            gone = await http.get(f"/api/v1/sessions/{sid}/runs/{run_id}/events")
            messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
    finally:
        stop(proc)
    assert gone.status_code == 410 and gone.json()["error"]["type"] == "events_expired"
    # The messages are kept whatever the event log does.
    assert [m["role"] for m in messages] == ["user", "assistant"]
