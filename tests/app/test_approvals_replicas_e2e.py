"""Approvals across two `sage serve` replicas on one PostgreSQL and Redis: a
decision sent to B reaches the run waiting on A (A makes the call and
answers); and when A is killed while its run waits, the decision sent to B
resumes the run on B once A's lease has run out."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx2

from sagents.events import ApprovalRequested, EventBase, RunFinished, ToolResult
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, Turn
from tests.app.approval_tools import serve_with_pay
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, stop

REDIS_URL = os.environ.get("SAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def wait_on_a(a: httpx2.AsyncClient) -> ApprovalRequested:
    payload = {**SIMPLE, "message": "pay bob", "on_disconnect": "continue"}
    async for event in sse_events(a, "POST", "/api/v1/chat", json=payload):
        if isinstance(event, ApprovalRequested):
            return event
    raise AssertionError("no approval.requested")


async def follow(http: httpx2.AsyncClient, event: EventBase) -> list[EventBase]:
    path = f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}/events"
    headers = {"Last-Event-ID": str(event.seq)}
    return [e async for e in sse_events(http, "GET", path, headers=headers)]


async def test_a_decision_on_b_continues_the_run_on_a(
    tmp_path: Path, mock_llm: MockLLMServer, pg_url: str
) -> None:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_r")
    mock_llm.set_script(Script(turns=[Turn(tool_calls=[call]), Turn(text="Paid.")]))
    shared = {"SAGE_DATABASE_URL": pg_url, "SAGE_REDIS_URL": REDIS_URL}
    ports = free_port(), free_port()
    logs = tmp_path / "paid-a.txt", tmp_path / "paid-b.txt"
    procs = [
        serve_with_pay(tmp_path, tmp_path / name, port, mock_llm.base_url, log, **shared)
        for name, port, log in zip("ab", ports, logs, strict=True)
    ]
    try:
        a_url, b_url = (f"http://127.0.0.1:{port}" for port in ports)
        async with (
            httpx2.AsyncClient(base_url=a_url, timeout=30) as a,
            httpx2.AsyncClient(base_url=b_url, timeout=30) as b,
        ):
            requested = await wait_on_a(a)
            # The waiting run holds its session on every replica.
            busy = await b.post(
                "/api/v1/chat",
                json={**SIMPLE, "message": "again", "session_id": requested.session_id},
            )
            assert busy.status_code == 409, busy.text
            gone = await b.delete(f"/api/v1/sessions/{requested.session_id}")
            assert gone.status_code == 409, gone.text
            following = asyncio.create_task(follow(b, requested))
            path = (
                f"/api/v1/sessions/{requested.session_id}/runs/{requested.run_id}"
                f"/approvals/{requested.call_id}"
            )
            decided = await b.post(path, json={"decision": "approve"})
            assert decided.status_code == 200, decided.text
            again = await a.post(path, json={"decision": "reject"})
            rest = await asyncio.wait_for(following, 60)
    finally:
        for proc in procs:
            stop(proc)
    assert again.status_code == 409
    assert [(e.ok, e.content) for e in rest if isinstance(e, ToolResult)] == [
        (True, "paid 5 to bob")
    ]
    assert isinstance(rest[-1], RunFinished) and rest[-1].answer == "Paid."
    seqs = [e.seq for e in rest]
    assert seqs == list(range(requested.seq + 1, requested.seq + 1 + len(seqs)))
    # The run that waited on A made the call there, once.
    assert logs[0].read_text() == "bob 5\n" and not logs[1].exists()


async def test_a_killed_replicas_waiting_run_is_resumed_by_the_decision_on_b(
    tmp_path: Path, mock_llm: MockLLMServer, pg_url: str
) -> None:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_k")
    mock_llm.set_script(Script(turns=[Turn(tool_calls=[call]), Turn(text="Paid on B.")]))
    shared = {
        "SAGE_DATABASE_URL": pg_url,
        "SAGE_REDIS_URL": REDIS_URL,
        "SAGE_RUN_LEASE_S": "2",
        "SAGE_APPROVAL_POLL_S": "0.2",
    }
    ports = free_port(), free_port()
    logs = tmp_path / "paid-a.txt", tmp_path / "paid-b.txt"
    procs = [
        serve_with_pay(tmp_path, tmp_path / name, port, mock_llm.base_url, log, **shared)
        for name, port, log in zip("ab", ports, logs, strict=True)
    ]
    try:
        a_url, b_url = (f"http://127.0.0.1:{port}" for port in ports)
        async with (
            httpx2.AsyncClient(base_url=a_url, timeout=30) as a,
            httpx2.AsyncClient(base_url=b_url, timeout=30) as b,
        ):
            requested = await wait_on_a(a)
            await asyncio.sleep(1.0)  # past the event log's flush window
            os.kill(procs[0].pid, signal.SIGKILL)
            procs[0].wait(5)
            path = (
                f"/api/v1/sessions/{requested.session_id}/runs/{requested.run_id}"
                f"/approvals/{requested.call_id}"
            )
            decided = await b.post(path, json={"decision": "approve"})
            assert decided.status_code == 200, decided.text
            rest = await asyncio.wait_for(follow(b, requested), 60)
            detail = (await b.get(f"/api/v1/sessions/{requested.session_id}")).json()
    finally:
        for proc in procs:
            stop(proc)
    assert isinstance(rest[-1], RunFinished) and rest[-1].answer == "Paid on B."
    assert detail["runs"][0]["status"] == "finished"
    assert logs[1].read_text() == "bob 5\n" and not logs[0].exists()
