"""Observability over real HTTP: the trace id header, /metrics, the session
export."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from app.cli.main import app as cli_app
from sagents.events import parse_event
from sagents.observability.logs import JsonFormatter, RunFields
from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import SIMPLE, StartServer, chat


async def test_chat_answers_with_the_runs_trace_id(start_server: StartServer) -> None:
    url = start_server([Turn(text="Hi."), Turn(text="Again.")])
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

    # Tracing is off here, and the client's trace id is still the run's.
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post(
            "/api/v1/chat", json={"message": "again", **SIMPLE}, headers={"traceparent": caller}
        )
    assert response.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


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


LLM_KEY = "sk-planted-llm-key-0123456789abcdef"
USER_KEY = "user-planted-key-9876"
MCP_HEADER = "mcp-planted-header-5555"
PLANTED = (LLM_KEY, USER_KEY, MCP_HEADER)


@tool
def remember(text: str) -> str:
    """Logs the text and gives it back."""
    logging.getLogger("tests.remember").warning("remembering %s", text)
    return f"remembered {text}"


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """What ``sage serve``'s handler would print (the app hands it its redactor)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RunFields())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


async def test_export_has_the_run_and_no_planted_secret(
    start_server: StartServer, tmp_path: Path, root_log: io.StringIO
) -> None:
    tools = ToolManager()
    tools.add(remember)
    mcp_file = tmp_path / "mcp_setting.json"
    entry = {"url": "http://127.0.0.1:9/mcp", "headers": {"X-Api-Key": MCP_HEADER}}
    mcp_file.write_text(json.dumps({"mcpServers": {"vault": entry}}))
    secrets = " ".join(PLANTED)
    url = start_server(
        [
            Turn(tool_calls=[ScriptedToolCall(name="remember", arguments={"text": secrets})]),
            Turn(text=f"Noted: {LLM_KEY}"),
        ],
        tools=tools,
        llm_api_key=LLM_KEY,
        api_keys={USER_KEY: "alice"},
        mcp_settings_path=mcp_file,
        mcp_startup_wait_s=0.2,
    )
    auth = {"Authorization": f"Bearer {USER_KEY}"}
    async with httpx2.AsyncClient(base_url=url, timeout=10, headers=auth) as http:
        events = await chat(http, message=f"keep these: {secrets}")
        session_id, trace_id = events[0].session_id, events[0].trace_id
        response = await http.get(f"/api/v1/sessions/{session_id}/export")
        missing = await http.get("/api/v1/sessions/ses_nope/export")
    assert events[-1].type == "run.finished"
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert missing.status_code == 404

    text = response.text
    lines = [json.loads(line) for line in text.splitlines()]
    kinds = [line["record"] for line in lines]
    assert kinds[0] == "session" and lines[0]["session_id"] == session_id
    assert kinds[1] == "run"
    run = lines[1]
    assert (run["run_id"], run["trace_id"], run["status"]) == (
        events[0].run_id,
        trace_id,
        "finished",
    )
    assert run["usage"]["input_tokens"] > 0
    exported = [line for line in lines if line["record"] == "event"]
    assert [e["seq"] for e in exported] == [e.seq for e in events]
    assert [e["type"] for e in exported] == [e.type for e in events]
    assert {e["trace_id"] for e in exported} == {trace_id}
    assert any(e["type"] == "route.decided" for e in exported)
    assert any(e["type"] == "usage" for e in exported)
    assert kinds.count("message") == 4  # user, assistant (call), tool, assistant
    for secret in PLANTED:
        assert secret not in text
    assert "[REDACTED]" in text

    logged = root_log.getvalue()
    lines_logged = [json.loads(line) for line in logged.splitlines()]
    (remembered,) = [r for r in lines_logged if r["logger"] == "tests.remember"]
    assert remembered["trace_id"] == trace_id and remembered["run_id"] == events[0].run_id
    for secret in PLANTED:
        assert secret not in logged

    # The CLI writes the same lines.
    command = ["sessions", "export", session_id, "--url", url, "--api-key", USER_KEY]
    cli = await asyncio.to_thread(CliRunner().invoke, cli_app, command)
    assert cli.exit_code == 0, cli.output
    assert [json.loads(line)["record"] for line in cli.stdout.splitlines()] == kinds
