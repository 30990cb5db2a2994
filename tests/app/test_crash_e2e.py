"""Kill -9 the server mid-run, start it again: completed messages are there,
the run is ``interrupted``, and the session takes a new chat, because every
tool call the crash left without a result got an "interrupted" one (the
mock is strict: a call without its result would be a 400, as at OpenAI)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import psutil

from sagents.events import EventBase
from sagents.store import INTERRUPTED_TOOL_RESULT, RECOVERED_KIND
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, Turn
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, spawn, wait_ready
from tests.tools.mcp.conftest import stdio_entry, write_settings


async def test_kill_9_mid_run_then_restart(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    mock_llm.set_script(
        Script(
            turns=[
                Turn(text="First answer, complete."),
                Turn(text="slow " * 500, faults={"token_delay_s": 0.02}),
            ]
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            first = [
                e
                async for e in sse_events(
                    http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "one"}
                )
            ]
            assert first[-1].type == "run.finished"
            sid = first[0].session_id
            payload = {**SIMPLE, "message": "two", "session_id": sid}
            deltas = 0
            run_id = ""
            try:
                async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
                    run_id = event.run_id
                    if event.type == "message.delta":
                        deltas += 1
                        if deltas == 5:
                            os.kill(proc.pid, signal.SIGKILL)
                            proc.wait(5)
            except httpx2.HTTPError:
                pass  # the connection died with the server
            assert deltas >= 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "one"),
        ("assistant", "First answer, complete."),
        ("user", "two"),
    ]
    runs = {r["id"]: r["status"] for r in detail["runs"]}
    assert runs[run_id] == "interrupted"
    assert runs[first[0].run_id] == "finished"
    assert detail["status"] == "interrupted"


def with_demo_mcp(data_dir: Path) -> dict[str, str]:
    """Settings that give the server the demo MCP server's tools (``slow``,
    ``echo``): real tools in the server's process tree, so the kill lands in
    the middle of a real call."""
    path = write_settings(data_dir / "mcp.json", {"demo": stdio_entry()})
    return {"SAGE_MCP_SETTINGS_PATH": str(path)}


async def wait_for_tools(http: httpx2.AsyncClient) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        servers = (await http.get("/api/v1/mcp/servers")).json()["servers"]
        if servers and servers[0]["status"] == "connected":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the demo MCP server did not connect: {servers}")


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 the server; its children (the MCP server) are killed after,
    only so they do not outlive the test."""
    children = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


async def crash_during_tools(
    data_dir: Path,
    mock_llm: MockLLMServer,
    calls: list[ScriptedToolCall],
    kill_when: Callable[[list[EventBase]], bool],
) -> tuple[str, str, list[EventBase]]:
    """Start a server, chat until ``kill_when(events so far)``, kill -9 it.
    Returns the session id, the run id and the events seen."""
    mock_llm.set_script(Script(turns=[Turn(text="Working on it. ", tool_calls=calls)]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(data_dir, port, mock_llm.base_url, **with_demo_mcp(data_dir))
    events: list[EventBase] = []
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            await wait_for_tools(http)
            with contextlib.suppress(httpx2.HTTPError):  # the connection dies with the server
                async for event in sse_events(
                    http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "do it"}
                ):
                    events.append(event)
                    if kill_when(events):
                        kill_9(proc)
    finally:
        if proc.poll() is None:
            kill_9(proc)
    assert kill_when(events), [e.type for e in events]
    return events[0].session_id, events[0].run_id, events


async def follow_up(
    data_dir: Path, mock_llm: MockLLMServer, session_id: str
) -> tuple[list[EventBase], list[dict[str, Any]], dict[str, Any]]:
    """Restart on the same data directory and chat on in the session: the
    events, the stored messages and the session detail afterwards."""
    mock_llm.set_script(Script(turns=[Turn(text="Picking up where we left off.")]))
    mock_llm.clear_requests()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(data_dir, port, mock_llm.base_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            payload = {**SIMPLE, "message": "did it work?", "session_id": session_id}
            events = [e async for e in sse_events(http, "POST", "/api/v1/chat", json=payload)]
            messages = (await http.get(f"/api/v1/sessions/{session_id}/messages")).json()
            detail = (await http.get(f"/api/v1/sessions/{session_id}")).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    return events, messages, detail


def slow_call(marker: Path) -> ScriptedToolCall:
    return ScriptedToolCall(name="slow", arguments={"marker": str(marker), "seconds": 60})


async def test_kill_9_during_a_tool_call_then_the_session_goes_on(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    assert mock_llm.strict  # a call without its result would be a 400, as at OpenAI
    sid, run_id, _ = await crash_during_tools(
        tmp_path,
        mock_llm,
        [slow_call(tmp_path / "marker")],
        lambda events: events[-1].type == "tool.called",
    )
    events, messages, detail = await follow_up(tmp_path, mock_llm, sid)

    assert events[-1].type == "run.finished", events[-1]
    assert events[-1].answer == "Picking up where we left off."
    call, recovered = messages[1], messages[2]
    assert call["role"] == "assistant" and call["tool_calls"][0]["function"]["name"] == "slow"
    assert recovered["role"] == "tool"
    assert recovered["tool_call_id"] == call["tool_calls"][0]["id"]
    assert recovered["content"] == INTERRUPTED_TOOL_RESULT
    assert recovered["interrupted"] and recovered["kind"] == RECOVERED_KIND
    runs = {r["id"]: r["status"] for r in detail["runs"]}
    assert runs[run_id] == "interrupted"
    # What the LLM got: the call and its result, then the new question.
    [request] = mock_llm.requests
    sent = [(m["role"], m.get("tool_call_id")) for m in request["messages"][1:]]
    assert sent == [
        ("user", None),
        ("assistant", None),
        ("tool", call["tool_calls"][0]["id"]),
        ("user", None),
    ]


async def test_kill_9_after_one_of_two_concurrent_calls_returned(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    """Only the call that was still running gets the "interrupted" result;
    the one that returned keeps its real result."""
    sid, _, seen = await crash_during_tools(
        tmp_path,
        mock_llm,
        [slow_call(tmp_path / "marker"), ScriptedToolCall(name="echo", arguments={"text": "hi"})],
        lambda events: any(e.type == "tool.result" for e in events),
    )
    [echo_result] = [e for e in seen if e.type == "tool.result"]
    assert echo_result.tool == "echo"
    events, messages, _ = await follow_up(tmp_path, mock_llm, sid)

    assert events[-1].type == "run.finished", events[-1]
    calls = {c["function"]["name"]: c["id"] for c in messages[1]["tool_calls"]}
    results = {m["tool_call_id"]: m for m in messages if m["role"] == "tool"}
    assert set(results) == set(calls.values())
    assert results[calls["echo"]]["content"] == "echo: hi"
    assert not results[calls["echo"]]["interrupted"]
    assert results[calls["slow"]]["content"] == INTERRUPTED_TOOL_RESULT
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "user",
        "assistant",
    ]
