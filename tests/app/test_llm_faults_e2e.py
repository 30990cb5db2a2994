"""LLM faults seen through the whole stack: retried, failed clearly, never hung."""

from __future__ import annotations

import socket
import time

import httpx2

from sagents.events import RunFailed, RunFinished
from sagents.testing import MockLLMServer, Turn
from tests.app.conftest import StartServer, chat


async def test_500_then_success_is_retried(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server([Turn(text="recovered", faults={"http_status": 500, "fail_times": 1})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await chat(http, message="hi")
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "recovered"
    assert len(mock_llm.requests) == 2  # the failed attempt and the retry


async def test_stream_cut_midway_fails_clearly(start_server: StartServer) -> None:
    url = start_server([Turn(text="one two three four five six", faults={"cut_after_chunks": 3})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await chat(http, message="hi")
        final = events[-1]
        assert isinstance(final, RunFailed) and final.error_type == "LLMStreamBroken"
        assert "broke" in final.message
        detail = (await http.get(f"/api/v1/sessions/{events[0].session_id}")).json()
    assert detail["status"] == "error" and detail["runs"][0]["status"] == "failed"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_llm_fails_within_the_timeout(start_server: StartServer) -> None:
    url = start_server(
        llm_base_url=f"http://127.0.0.1:{closed_port()}/v1",
        llm_connect_timeout_s=1.0,
        llm_max_retries=2,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=20) as http:
        started = time.perf_counter()
        events = await chat(http, message="hi")
        elapsed = time.perf_counter() - started
    final = events[-1]
    assert isinstance(final, RunFailed) and final.error_type == "LLMUnavailable"
    assert "127.0.0.1" in final.message
    assert elapsed < 5


async def test_hanging_llm_times_out(start_server: StartServer) -> None:
    url = start_server(
        [Turn(text="never", faults={"hang": True})],
        llm_first_chunk_timeout_s=0.5,
        llm_max_retries=0,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=20) as http:
        events = await chat(http, message="hi")
    final = events[-1]
    assert isinstance(final, RunFailed) and final.error_type == "LLMTimeout"
