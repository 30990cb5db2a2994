"""Observability over real HTTP: the trace id header, /metrics, the session
export."""

from __future__ import annotations

import httpx2

from sagents.events import parse_event
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer


async def test_chat_answers_with_the_runs_trace_id(start_server: StartServer) -> None:
    url = start_server([Turn(text="Hi.")])
    async with (
        httpx2.AsyncClient(base_url=url, timeout=10) as http,
        http.stream("POST", "/api/v1/chat", json={"message": "hi", **SIMPLE}) as response,
    ):
        assert response.status_code == 200
        trace_id = response.headers["x-trace-id"]
        events = [
            parse_event(frame.data)
            async for frame in httpx2.EventSource(response, max_event_size=None)
            if frame.data
        ]
    assert len(trace_id) == 32 and int(trace_id, 16)
    assert events[0].type == "run.started" and events[0].trace_id == trace_id
    assert {e.trace_id for e in events} == {trace_id}
