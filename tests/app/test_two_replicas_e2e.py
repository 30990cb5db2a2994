"""Two `sage serve` processes on one PostgreSQL and one Redis, as behind a
load balancer: a chat started on A is busy for B (409), its stream resumes on
B (Last-Event-ID) with no gap and no duplicate, and a cancel sent to B stops
the run on A."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2

from sagents.events import EventBase, RunCancelled, RunFailed
from sagents.testing import MockLLMServer, Script, Turn
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, spawn, stop, wait_ready

REDIS_URL = os.environ.get("SAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextlib.asynccontextmanager
async def two_replicas(
    tmp_path: Path, mock_llm: MockLLMServer, shared: dict[str, str]
) -> AsyncIterator[tuple[httpx2.AsyncClient, httpx2.AsyncClient, list[subprocess.Popen[bytes]]]]:
    """Replicas A and B on ``shared`` settings: a client for each, and their
    processes (stopped on the way out)."""
    ports = free_port(), free_port()
    procs = []
    try:
        for name, port in zip("ab", ports, strict=True):
            (tmp_path / name).mkdir()
            procs.append(spawn(tmp_path / name, port, mock_llm.base_url, **shared))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, proc in zip(urls, procs, strict=True):
            wait_ready(url, proc, timeout_s=90)  # a loaded 2-core machine is slow to start two
        async with (
            httpx2.AsyncClient(base_url=urls[0], timeout=10) as a,
            httpx2.AsyncClient(base_url=urls[1], timeout=10) as b,
        ):
            yield a, b, procs
    finally:
        for proc in procs:
            stop(proc)


async def started_on(client: httpx2.AsyncClient) -> list[EventBase]:
    """A long chat started on ``client`` (kept running when the client
    leaves): its events up to the fifth delta."""
    seen: list[EventBase] = []
    payload = {**SIMPLE, "message": "go", "on_disconnect": "continue"}
    async for event in sse_events(client, "POST", "/api/v1/chat", json=payload):
        seen.append(event)
        if sum(e.type == "message.delta" for e in seen) >= 5:
            break
    return seen


async def test_start_on_a_cancel_and_resume_on_b(
    tmp_path: Path, mock_llm: MockLLMServer, pg_url: str
) -> None:
    mock_llm.set_script(Script(turns=[Turn(text="word " * 2000, faults={"token_delay_s": 0.02})]))
    shared = {"SAGE_DATABASE_URL": pg_url, "SAGE_REDIS_URL": REDIS_URL}
    async with two_replicas(tmp_path, mock_llm, shared) as (a, b, _):
        seen = await started_on(a)
        sid, run_id = seen[0].session_id, seen[0].run_id

        busy = await b.post("/api/v1/chat", json={**SIMPLE, "message": "again", "session_id": sid})
        assert busy.status_code == 409, busy.text
        assert run_id in busy.json()["error"]["message"]
        detail = (await b.get(f"/api/v1/sessions/{sid}")).json()
        assert detail["active_run_id"] == run_id

        path = f"/api/v1/sessions/{sid}/runs/{run_id}/events"
        headers = {"Last-Event-ID": str(seen[-1].seq)}

        async def follow() -> list[EventBase]:
            return [e async for e in sse_events(b, "GET", path, headers=headers)]

        following = asyncio.create_task(follow())
        await asyncio.sleep(0.5)  # B is following the run live
        cancel = await b.post(f"/api/v1/sessions/{sid}/cancel")
        assert cancel.status_code == 202 and cancel.json()["cancelled"] is True
        rest = await asyncio.wait_for(following, 60)

        assert isinstance(rest[-1], RunCancelled)
        seqs = [e.seq for e in seen + rest]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
        assert sum(e.type == "message.delta" for e in rest) > 0  # it streamed live
        ended = (await b.get(f"/api/v1/sessions/{sid}")).json()
        assert {r["id"]: r["status"] for r in ended["runs"]}[run_id] == "cancelled"
        assert ended["active_run_id"] is None


async def test_a_killed_replicas_run_is_ended_by_the_other(
    tmp_path: Path, mock_llm: MockLLMServer, pg_url: str
) -> None:
    """kill -9 of A mid-run: once the run's lease expires, B marks it
    interrupted, B's follower gets a terminal event, and the session takes
    a new chat on B (the Redis lock expired with the lease)."""
    mock_llm.set_script(
        Script(
            turns=[
                Turn(text="word " * 2000, faults={"token_delay_s": 0.02}),
                Turn(text="Back again."),
            ]
        )
    )
    shared = {
        "SAGE_DATABASE_URL": pg_url,
        "SAGE_REDIS_URL": REDIS_URL,
        "SAGE_RUN_LEASE_S": "2",
        "SAGE_EVENT_LOG_FLUSH_S": "0.05",
    }
    async with two_replicas(tmp_path, mock_llm, shared) as (a, b, procs):
        seen = await started_on(a)
        sid, run_id = seen[0].session_id, seen[0].run_id
        path = f"/api/v1/sessions/{sid}/runs/{run_id}/events"

        async def follow() -> list[EventBase]:
            return [e async for e in sse_events(b, "GET", path)]

        following = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        killed = time.monotonic()
        events = await asyncio.wait_for(following, 60)
        ended_after = time.monotonic() - killed
        print(f"B ended A's run {ended_after:.2f} s after the kill (lease 2 s)")

        assert isinstance(events[-1], RunFailed)
        assert events[-1].error_type == "RunInterrupted"
        seqs = [e.seq for e in events]
        assert seqs == list(range(1, len(seqs) + 1))
        detail = (await b.get(f"/api/v1/sessions/{sid}")).json()
        assert {r["id"]: r["status"] for r in detail["runs"]}[run_id] == "interrupted"
        assert detail["active_run_id"] is None
        again = [
            e
            async for e in sse_events(
                b, "POST", "/api/v1/chat", json={**SIMPLE, "message": "b", "session_id": sid}
            )
        ]
        assert again[-1].type == "run.finished"
