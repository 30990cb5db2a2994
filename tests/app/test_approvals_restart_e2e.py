"""A run waits for an approval, the server stops (a clean restart, or kill
-9), a new server starts on the same data directory: the run is still
``waiting``, and the decision sent to the new server resumes it to its
answer, its events going on from the stored log under the same run id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx2
import pytest

from sagents.events import (
    ApprovalRequested,
    ApprovalResolved,
    EventBase,
    RunFinished,
    ToolResult,
    parse_event,
)
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, Turn
from tests.app.approval_tools import serve_with_pay
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, stop


def serve(tmp_path: Path, port: int, llm_url: str) -> subprocess.Popen[bytes]:
    return serve_with_pay(
        tmp_path, tmp_path / "data", port, llm_url, tmp_path / "paid.txt", SAGE_RUN_LEASE_S="3"
    )


async def stored_events(
    http: httpx2.AsyncClient, sid: str, rid: str, after: int
) -> list[EventBase]:
    return [
        e
        async for e in sse_events(
            http,
            "GET",
            f"/api/v1/sessions/{sid}/runs/{rid}/events",
            headers={"Last-Event-ID": str(after)},
        )
    ]


@pytest.mark.parametrize("how", ["restart", "kill-9"])
async def test_a_stop_while_waiting_then_approve_completes_the_run(
    tmp_path: Path, mock_llm: MockLLMServer, how: str
) -> None:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_p")
    mock_llm.set_script(Script(turns=[Turn(tool_calls=[call]), Turn(text="Paid bob.")]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = serve(tmp_path, port, mock_llm.base_url)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            body = {**SIMPLE, "message": "pay bob", "on_disconnect": "continue"}
            async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
                if isinstance(event, ApprovalRequested):
                    requested = event
                    break
        if how == "restart":
            stop(proc)  # SIGTERM: a clean shutdown lets go of the waiting run
        else:
            # As a person would: seconds later, not within the event log's
            # flush window (SAGE_EVENT_LOG_FLUSH_S) of approval.requested.
            await asyncio.sleep(1.0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    finally:
        stop(proc)

    sid, rid = requested.session_id, requested.run_id
    proc = serve(tmp_path, port, mock_llm.base_url)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            assert (detail["status"], detail["runs"][0]["status"]) == ("waiting", "waiting")
            pending = (await http.get(f"/api/v1/sessions/{sid}/runs/{rid}/approvals")).json()
            assert [a["call_id"] for a in pending] == ["call_p"]
            busy = await http.post(
                "/api/v1/chat", json={**SIMPLE, "message": "x", "session_id": sid}
            )
            assert busy.status_code == 409, busy.text
            assert not (tmp_path / "paid.txt").exists()

            path = f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_p"
            decided = await http.post(path, json={"decision": "approve"})
            assert decided.status_code == 200, decided.text
            events = await stored_events(http, sid, rid, requested.seq)
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
            everything = await stored_events(http, sid, rid, 0)
    finally:
        stop(proc)

    assert [e.seq for e in events] == list(range(requested.seq + 1, events[-1].seq + 1))
    # The resumed run says again which call it makes, then takes the decision.
    assert [e.type for e in events[:2]] == ["tool.called", "approval.resolved"]
    assert isinstance(events[1], ApprovalResolved) and events[1].decision == "approve"
    results = [(e.ok, e.content) for e in events if isinstance(e, ToolResult)]
    assert results == [(True, "paid 5 to bob")]
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Paid bob."
    assert (tmp_path / "paid.txt").read_text() == "bob 5\n"  # run once, after the restart
    assert (detail["status"], detail["runs"][0]["status"]) == ("completed", "finished")
    assert [(m["role"], m.get("tool_call_id")) for m in messages] == [
        ("user", None),
        ("assistant", None),
        ("tool", "call_p"),
        ("assistant", None),
    ]
    assert [e.seq for e in everything] == list(range(1, len(everything) + 1))
    assert parse_event(everything[-1].model_dump()).type == "run.finished"
