"""A run waits for an approval, the server stops (a clean restart, or kill
-9), a new server starts on the same data directory: the run is still
``waiting``, and the decision sent to the new server resumes it to its
answer, its events going on from the stored log under the same run id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from sagents.events import (
    ApprovalRequested,
    ApprovalResolved,
    EventBase,
    RunFinished,
    Suggestions,
    ToolResult,
    parse_event,
)
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, Turn
from tests.app.approval_tools import serve_with_pay
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, stop


def serve(tmp_path: Path, port: int, llm_url: str, flush_s: str = "0.2") -> subprocess.Popen[bytes]:
    return serve_with_pay(
        tmp_path,
        tmp_path / "data",
        port,
        llm_url,
        tmp_path / "paid.txt",
        SAGE_RUN_LEASE_S="3",
        SAGE_EVENT_LOG_FLUSH_S=flush_s,
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


@pytest.mark.parametrize("how", ["restart", "kill-9", "kill-9, slow log"])
async def test_a_stop_while_waiting_then_approve_completes_the_run(
    tmp_path: Path, mock_llm: MockLLMServer, how: str
) -> None:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_p")
    mock_llm.set_script(Script(turns=[Turn(tool_calls=[call]), Turn(text="Paid bob.")]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # "slow log": the event log's own flush would come 10 s after the run's
    # first event, long after the kill; only the flush the approval gate
    # makes before it waits puts approval.requested (and what came before
    # it) in the log.
    proc = serve(tmp_path, port, mock_llm.base_url, "10" if "slow" in how else "0.2")
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
            assert detail["active_run_id"] == rid  # what a client follows
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


async def wait_then_restart(
    tmp_path: Path, mock_llm: MockLLMServer, port: int, **settings: str
) -> tuple[ApprovalRequested, subprocess.Popen[bytes]]:
    """A run waits on a first server, which is restarted: the new server."""
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_p")
    mock_llm.set_script(Script(turns=[Turn(tool_calls=[call]), Turn(text="Not paid.")]))
    url = f"http://127.0.0.1:{port}"
    pay_log, data = tmp_path / "paid.txt", tmp_path / "data"
    proc = serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log, **settings)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            body = {**SIMPLE, "message": "pay bob", "on_disconnect": "continue"}
            async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
                if isinstance(event, ApprovalRequested):
                    requested = event
                    break
    finally:
        stop(proc)
    return requested, serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log, **settings)


async def test_cancel_after_a_restart_ends_the_waiting_run(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    port = free_port()
    requested, proc = await wait_then_restart(tmp_path, mock_llm, port)
    sid, rid = requested.session_id, requested.run_id
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            cancelled = await http.post(f"/api/v1/sessions/{sid}/cancel")
            late = await http.post(
                f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_p", json={"decision": "approve"}
            )
            events = await stored_events(http, sid, rid, requested.seq)
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
            again = await http.post(
                "/api/v1/chat", json={**SIMPLE, "message": "hi", "session_id": sid}
            )
    finally:
        stop(proc)
    assert cancelled.status_code == 202 and cancelled.json()["run_id"] == rid
    assert late.status_code == 409
    assert [e.type for e in events] == ["run.cancelled"]
    assert (detail["status"], detail["runs"][0]["status"]) == ("interrupted", "cancelled")
    assert messages[-1]["role"] == "tool" and messages[-1]["tool_call_id"] == "call_p"
    assert again.status_code == 200  # the session takes a new turn (its history is valid)
    assert not (tmp_path / "paid.txt").exists()


async def test_a_decision_past_the_timeout_after_a_restart_rejects(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    port = free_port()
    requested, proc = await wait_then_restart(tmp_path, mock_llm, port, SAGE_APPROVAL_TIMEOUT_S="3")
    sid, rid = requested.session_id, requested.run_id
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await asyncio.sleep(max(0.0, requested.expires_at - time.time()))
            late = await http.post(
                f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_p", json={"decision": "approve"}
            )
            events = await stored_events(http, sid, rid, requested.seq)
    finally:
        stop(proc)
    assert late.status_code == 409 and late.json()["error"]["type"] == "expired"
    resolved = next(e for e in events if isinstance(e, ApprovalResolved))
    assert (resolved.decision, resolved.by) == ("reject", "timeout")
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Not paid."
    assert not (tmp_path / "paid.txt").exists()


async def test_a_restart_while_the_plan_waits_then_edit_runs_the_plan(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    """The plan checkpoint survives a restart too: the edited plan's tasks
    run on the new server (the task loop and the summary of the flow)."""
    mock_llm.set_script(
        Script(
            turns=[
                Turn(role="decompose", json={"tasks": [{"id": "1", "title": "Count"}]}),
                Turn(role="planning", text="Plan."),
                Turn(role="executor", text="Counted: 3."),
                Turn(role="observation", text="Fine."),
                Turn(
                    role="judge",
                    json={
                        "tasks": [{"task_id": "1", "status": "done", "result": "3"}],
                        "all_done": True,
                    },
                ),
                Turn(role="stage_summary", text="Done."),
                Turn(role="summary", text="There are 3."),
                Turn(role="suggest", json={"questions": ["And the lines?"]}),
            ]
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data, pay_log = tmp_path / "data", tmp_path / "paid.txt"
    proc = serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            body = {
                **SIMPLE,
                "multi_agent": True,
                "approve_plan": True,
                "more_suggest": True,
                "message": "count",
                "on_disconnect": "continue",
            }
            async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
                if isinstance(event, ApprovalRequested):
                    requested = event
                    break
    finally:
        stop(proc)
    sid, rid = requested.session_id, requested.run_id
    proc = serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            edited = {"tasks": [{"id": "1", "title": "Count the words"}]}
            decided = await http.post(
                f"/api/v1/sessions/{sid}/runs/{rid}/approvals/{requested.call_id}",
                json={"decision": "edit", "arguments": edited},
            )
            assert decided.status_code == 200, decided.text
            events = await stored_events(http, sid, rid, requested.seq)
            tasks = (await http.get(f"/api/v1/sessions/{sid}/tasks")).json()
    finally:
        stop(proc)
    assert requested.call_id == "sage:plan"
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "There are 3."
    # The walk goes on after the flow's multi-agent branch too.
    assert [e.questions for e in events if isinstance(e, Suggestions)] == [["And the lines?"]]
    assert [(t["title"], t["status"]) for t in tasks] == [("Count the words", "done")]
