"""A 100 MB answer, 100 MB of reasoning and 100 MB of tool-call arguments
from the LLM, over real HTTP, against the service in its own process: the
server's memory stays bounded, it stops reading (the provider sees the
hang-up), and the runs end as documented (SAGE_LLM_MAX_*)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from sagents.events import AgentNotice, EventBase, MessageCompleted, RunFinished, ToolResult
from sagents.testing.flood import FloodLLMServer, FloodTurn
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, spawn, stop, wait_ready
from tests.rss import PeakRss

MB = 1_000_000
FLOOD = 100 * MB
CAP = 200_000  # the default SAGE_LLM_MAX_*_CHARS
MEMORY_BOUND = 60 * MB
"""Far below one flood (holding it as text alone would be 100 MB, as events
several times that), far above the few MB the capped message and Python's
allocator noise take."""


@pytest.fixture
def flood() -> Iterator[FloodLLMServer]:
    server = FloodLLMServer(
        [
            FloodTurn(text="Warm."),
            FloodTurn(text_chars=FLOOD),
            FloodTurn(reasoning_chars=FLOOD, text="Reasoned."),
            FloodTurn(tool="echo", tool_args_chars=FLOOD),
            FloodTurn(text="After the refusal."),
        ]
    )
    yield server
    server.stop()


async def chat(http: httpx2.AsyncClient, message: str) -> list[EventBase]:
    body = {**SIMPLE, "message": message, "available_skills": []}
    return [e async for e in sse_events(http, "POST", "/api/v1/chat", json=body)]


def codes(events: list[EventBase]) -> list[str]:
    return [e.code for e in events if isinstance(e, AgentNotice)]


async def test_floods_from_the_llm_keep_server_memory_bounded(
    tmp_path: Path, flood: FloodLLMServer
) -> None:
    llm_url = flood.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, llm_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=120) as http:
            warm = await chat(http, "warm up")
            assert isinstance(warm[-1], RunFinished) and warm[-1].answer == "Warm."
            rss = PeakRss(proc.pid).start()

            answer = await chat(http, "talk forever")
            reasoning = await chat(http, "think forever")
            refused = await chat(http, "call with endless arguments")
            growth = rss.stop()
            messages = (await http.get(f"/api/v1/sessions/{answer[0].session_id}/messages")).json()
    finally:
        stop(proc)
    stats = flood.stats

    # The answer: cut at the cap, marked, stored so, and the run finished.
    assert codes(answer) == ["output_truncated"]
    [completed] = [e for e in answer if isinstance(e, MessageCompleted)]
    assert completed.interrupted and completed.content.startswith("lorem ipsum")
    assert CAP < len(completed.content) < CAP + 200  # the text up to the cap, and the note
    assert isinstance(answer[-1], RunFinished) and answer[-1].answer == completed.content
    assert messages[-1]["content"] == completed.content and messages[-1]["interrupted"]
    # Sage stopped reading: the mock saw the hang-up after a few MB at most.
    assert stats.hung_up[1] and not stats.finished[1]
    assert stats.sent_bytes[1] < 20 * MB

    # Reasoning: no longer forwarded past the cap, read to the end for the answer.
    assert codes(reasoning) == ["reasoning_truncated"]
    shown = sum(len(e.delta) for e in reasoning if e.type == "reasoning.delta")  # type: ignore[attr-defined]
    assert shown == CAP
    assert isinstance(reasoning[-1], RunFinished) and reasoning[-1].answer == "Reasoned."
    assert stats.finished[2]

    # Tool-call arguments: the call is refused, the stream closed, the run goes on.
    assert codes(refused) == ["tool_arguments_too_large"]
    [result] = [e for e in refused if isinstance(e, ToolResult)]
    assert not result.ok and result.content.startswith("Not called")
    assert isinstance(refused[-1], RunFinished) and refused[-1].answer == "After the refusal."
    assert stats.hung_up[3] and stats.sent_bytes[3] < 20 * MB

    assert growth < MEMORY_BOUND, f"server RSS grew {growth / MB:.0f} MB"
