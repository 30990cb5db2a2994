"""Cancellation over HTTP: the stream ends promptly, the tool really stops,
and the session takes a new chat with a valid history."""

from __future__ import annotations

import asyncio
import time

import httpx2

from sagents.context.messages import CANCELLED_TOOL_RESULT
from sagents.events import EventBase
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import SIMPLE, StartServer, chat, sse_events
from tests.conftest import CANCEL_BOUND_S


async def test_cancel_during_slow_tool(start_server: StartServer, mock_llm: MockLLMServer) -> None:
    finished: list[bool] = []
    started = asyncio.Event()

    @tool
    async def slow_lookup(query: str) -> str:
        """Look something up, slowly.

        Args:
            query: What to look up.
        """
        started.set()
        await asyncio.sleep(10)
        finished.append(True)
        return "found"

    tools = ToolManager()
    tools.add(slow_lookup)
    url = start_server(
        [
            Turn(
                text="Looking. ",
                tool_calls=[ScriptedToolCall(name="slow_lookup", arguments={"query": "x"})],
            ),
            Turn(text="Here is a fresh answer."),
        ],
        tools=tools,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events: list[EventBase] = []
        cancel_sent = 0.0
        async for event in sse_events(
            http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "look up x"}
        ):
            events.append(event)
            if event.type == "tool.called":
                await asyncio.sleep(0.1)
                cancel_sent = time.perf_counter()
                response = await http.post(f"/api/v1/sessions/{event.session_id}/cancel")
                assert response.status_code == 202
                assert response.json()["run_id"] == event.run_id
        latency = time.perf_counter() - cancel_sent
        assert events[-1].type == "run.cancelled"
        assert latency < CANCEL_BOUND_S, f"run.cancelled took {latency * 1000:.0f} ms"
        assert [e.type for e in events].count("run.cancelled") == 1
        assert finished == []  # the tool never got past its sleep

        sid = events[0].session_id
        detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
        assert detail["status"] == "interrupted" and detail["runs"][0]["status"] == "cancelled"
        messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
        assert messages[-1]["role"] == "tool" and messages[-1]["interrupted"]
        assert messages[-1]["content"] == CANCELLED_TOOL_RESULT

        again = await chat(http, message="try again", session_id=sid)
        assert again[-1].type == "run.finished"
    history = mock_llm.requests[-1]["messages"]
    call_ids = [c["id"] for m in history for c in m.get("tool_calls") or []]
    results = {m["tool_call_id"]: m["content"] for m in history if m["role"] == "tool"}
    assert call_ids and set(call_ids) == set(results)
    assert results[call_ids[0]] == CANCELLED_TOOL_RESULT
    await asyncio.sleep(0)
    assert finished == []


async def test_cancel_mid_stream_keeps_partial_answer(start_server: StartServer) -> None:
    words = " ".join(f"word{i}" for i in range(1000))  # 10 s of streaming
    url = start_server([Turn(text=words, faults={"token_delay_s": 0.01})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events: list[EventBase] = []
        deltas = 0
        cancel_sent = 0.0
        async for event in sse_events(
            http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "talk"}
        ):
            events.append(event)
            if event.type == "message.delta":
                deltas += 1
                if deltas == 10:
                    cancel_sent = time.perf_counter()
                    await http.post(f"/api/v1/sessions/{event.session_id}/cancel")
        assert events[-1].type == "run.cancelled"
        assert time.perf_counter() - cancel_sent < CANCEL_BOUND_S
        completed = [e for e in events if e.type == "message.completed"]
        assert completed and completed[-1].interrupted  # type: ignore[attr-defined]
        messages = (await http.get(f"/api/v1/sessions/{events[0].session_id}/messages")).json()
        assert messages[-1]["interrupted"] and messages[-1]["content"].startswith("word0 word1")


async def test_client_disconnect_cancels_by_default(start_server: StartServer) -> None:
    url = start_server([Turn(text="tick " * 500, faults={"token_delay_s": 0.01})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        sid = ""
        async for event in sse_events(
            http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "go"}
        ):
            sid = event.session_id
            if event.type == "message.delta":
                break  # drop the connection
        for _ in range(100):
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            if detail["status"] != "running":
                break
            await asyncio.sleep(0.02)
        assert detail["status"] == "interrupted"
        assert detail["runs"][0]["status"] == "cancelled"


async def test_cancel_without_a_running_run_is_409(start_server: StartServer) -> None:
    url = start_server([Turn(text="done")])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await chat(http, message="hi")
        response = await http.post(f"/api/v1/sessions/{events[0].session_id}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "not_running"


async def _read_to_the_end(http: httpx2.AsyncClient, url: str) -> list[EventBase]:
    """The events of one SSE response: returns only when the server ends it."""
    return [e async for e in sse_events(http, "GET", url)]


async def test_every_open_stream_of_a_cancelled_run_ends_after_its_terminal_event(
    start_server: StartServer,
) -> None:
    """The chat's own stream and a second reader of the same run both get
    ``run.cancelled`` last and then the end of the response, not a
    connection kept open (with keep-alive pings) for a run that is over."""
    url = start_server([Turn(text="tick " * 1000, faults={"token_delay_s": 0.01})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        payload = {**SIMPLE, "message": "go", "on_disconnect": "continue"}
        events: list[EventBase] = []
        follower: asyncio.Task[list[EventBase]] | None = None
        async with asyncio.timeout(10 * CANCEL_BOUND_S):  # not the 10 s of streaming
            async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
                events.append(event)
                if event.type == "message.delta" and follower is None:
                    sid, rid = event.session_id, event.run_id
                    events_url = f"/api/v1/sessions/{sid}/runs/{rid}/events"
                    follower = asyncio.create_task(_read_to_the_end(http, events_url))
                    response = await http.post(f"/api/v1/sessions/{sid}/cancel")
                    assert response.status_code == 202
            assert follower is not None
            followed = await follower
    for seen in (events, followed):
        assert seen[-1].type == "run.cancelled"
        assert [e.type for e in seen].count("run.cancelled") == 1
    assert [e.seq for e in followed] == [e.seq for e in events]
