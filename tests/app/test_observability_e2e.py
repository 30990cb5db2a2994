"""Observability over real HTTP: the trace id header, /metrics, the session
export."""

from __future__ import annotations

import httpx2

from sagents.events import parse_event
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer, chat


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


async def test_metrics_in_prometheus_text_when_enabled(start_server: StartServer) -> None:
    url = start_server([Turn(text="Hi.")], metrics_enabled=True)
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        await chat(http, message="hi")
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'sage_runs_ended_total{sage_run_status="finished"} 1' in text
    assert "gen_ai_client_token_usage_bucket{" in text
    assert "# TYPE gen_ai_client_operation_duration_seconds histogram" in text


async def test_metrics_are_off_by_default(start_server: StartServer) -> None:
    url = start_server([])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/metrics")
    assert response.status_code == 404
    assert "SAGE_METRICS_ENABLED" in response.json()["error"]["message"]


async def test_metrics_need_a_key_when_keys_are_configured(start_server: StartServer) -> None:
    url = start_server([], metrics_enabled=True, api_keys={"scrape-key-123": "prometheus"})
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        refused = await http.get("/metrics")
        allowed = await http.get("/metrics", headers={"Authorization": "Bearer scrape-key-123"})
    assert refused.status_code == 401
    assert allowed.status_code == 200
