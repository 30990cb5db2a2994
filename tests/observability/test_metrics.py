"""Metrics of real runs, read from the SDK and rendered as Prometheus text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, NumberDataPoint

from sagents.observability.prometheus import render
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.testing.script import Faults
from sagents.tools import ToolManager, tool
from tests.observability.conftest import Traced, TracedFactory


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("kaboom")


def points(t: Traced) -> dict[str, list[Any]]:
    data = t.reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


def value(found: list[Any], **attributes: Any) -> Any:
    (point,) = [p for p in found if dict(p.attributes or {}) == attributes]
    return point.count if isinstance(point, HistogramDataPoint) else point.value


async def test_runs_tools_and_tokens_are_counted(traced: TracedFactory) -> None:
    tools = ToolManager()
    tools.add(add)
    tools.add(explode)
    script = [
        Turn(
            role="simple",
            tool_calls=[
                ScriptedToolCall(name="add", arguments={"a": 1, "b": 2}),
                ScriptedToolCall(name="explode", arguments={}),
            ],
        ),
        Turn(role="simple", text="3, and one failed."),
        Turn(role="simple", text="late", faults=Faults(first_token_delay_s=60)),
    ]
    t: Traced = await traced(ScriptedLLM(script), tools)
    agent = SAgent(t.rt)
    simple: dict[str, Any] = {"deep_thinking": False, "multi_agent": False}
    events = [e async for e in agent.run_stream(RunRequest(message="go", **simple), "u1")]
    assert events[-1].type == "run.finished"

    # A second run, cancelled while it waits for the model.
    info = await agent.start(RunRequest(message="again", **simple), "u1")
    seen: list[str] = []

    async def follow() -> None:
        async for event in t.rt.runs.subscribe(info.run_id):
            seen.append(event.type)
            if event.type == "agent.started" and event.agent == "simple":
                agent.cancel(info.run_id)

    await asyncio.wait_for(follow(), 30)
    assert seen[-1] == "run.cancelled"

    found = points(t)
    assert value(found["sage.runs.started"]) == 2
    assert value(found["sage.runs.ended"], **{"sage.run.status": "finished"}) == 1
    assert value(found["sage.runs.ended"], **{"sage.run.status": "cancelled"}) == 1
    assert value(found["sage.runs.active"]) == 0
    assert value(found["sage.run.duration"], **{"sage.run.status": "finished"}) == 1
    assert value(found["sage.run.cancel.duration"]) == 1  # the one cancelled run
    assert value(found["sage.tool.calls"], **{"gen_ai.tool.name": "add"}) == 1
    assert value(found["sage.tool.calls"], **{"gen_ai.tool.name": "explode"}) == 1
    assert value(found["sage.tool.errors"], **{"gen_ai.tool.name": "explode"}) == 1
    assert not [p for p in found["sage.tool.errors"] if p.attributes["gen_ai.tool.name"] == "add"]
    labels = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "scripted-simple",
        "gen_ai.response.model": "scripted-simple",
    }
    usage = found["gen_ai.client.token.usage"]
    assert value(usage, **labels, **{"gen_ai.token.type": "input"}) == 2  # two finished calls
    assert value(usage, **labels, **{"gen_ai.token.type": "output"}) == 2
    durations = found["gen_ai.client.operation.duration"]
    assert value(durations, **labels) == 2
    # The cancelled call is there too, with its error type.
    cancelled = {k: v for k, v in labels.items() if k != "gen_ai.response.model"}
    assert value(durations, **cancelled, **{"error.type": "cancelled"}) == 1
    assert all(isinstance(p, NumberDataPoint) for p in found["sage.runs.started"])

    text = render(t.reader.get_metrics_data())
    assert "# TYPE sage_runs_started_total counter" in text
    assert 'sage_runs_ended_total{sage_run_status="finished"} 1' in text
    assert "# TYPE sage_runs_active gauge" in text
    assert "# TYPE gen_ai_client_operation_duration_seconds histogram" in text
    assert "gen_ai_client_token_usage_bucket{" in text and 'le="+Inf"} 2' in text
    assert 'sage_tool_errors_total{gen_ai_tool_name="explode"} 1' in text


async def test_mcp_server_status_is_a_gauge(traced: TracedFactory, tmp_path: Path) -> None:
    mcp_file = tmp_path / "mcp_setting.json"
    mcp_file.write_text(json.dumps({"mcpServers": {"gone": {"url": "http://127.0.0.1:9/mcp"}}}))
    t: Traced = await traced(ScriptedLLM(), mcp_settings_path=mcp_file, mcp_startup_wait_s=5.0)
    assert t.rt.mcp is not None
    status = str(t.rt.mcp.info("gone").status)
    found = points(t)["sage.mcp.server.status"]
    gone = {p.attributes["sage.mcp.status"]: p.value for p in found}
    assert gone[status] == 1 and sum(gone.values()) == 1
    assert set(gone) == {"idle", "connecting", "connected", "error", "disabled"}
