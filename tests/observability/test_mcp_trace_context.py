"""The trace goes on to MCP servers: a real server over streamable HTTP and
SSE receives the ``traceparent`` of the ``execute_tool`` span, as an HTTP
header and in the request's ``_meta``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagents.events import ToolResult
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from tests.observability.conftest import Traced, TracedFactory
from tests.tools.mcp.conftest import _free_port, _wait_for_port, write_settings

SERVER = Path(__file__).parent / "servers" / "traced_mcp.py"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    started: list[subprocess.Popen[bytes]] = []
    for kind, path in (("streamable-http", "/mcp"), ("sse", "/sse")):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, str(SERVER), kind, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        _wait_for_port(port, process)
        urls[kind] = f"http://127.0.0.1:{port}{path}"
    yield urls
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
async def test_traceparent_reaches_the_server(
    traced: TracedFactory, tmp_path: Path, servers: dict[str, str], kind: str
) -> None:
    transport = "streamable_http" if kind == "streamable-http" else "sse"
    entry = {"url": servers[kind], "transport": transport}
    path = write_settings(tmp_path / "mcp_setting.json", {"traced": entry})
    llm = ScriptedLLM(
        [
            Turn(role="simple", tool_calls=[ScriptedToolCall(name="trace_context", id="c1")]),
            Turn(role="simple", text="ok"),
        ]
    )
    t: Traced = await traced(llm, mcp_settings_path=path, mcp_startup_wait_s=30.0)
    request = RunRequest(message="go", deep_thinking=False, multi_agent=False)
    events = [e async for e in SAgent(t.rt).run_stream(request, "u1")]
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.ok, result.content
    seen = json.loads(result.content)
    (tool_span,) = t.named("execute_tool trace_context")
    assert (tool_span.attributes or {})["sage.tool.source"] == "mcp"
    assert (tool_span.attributes or {})["sage.tool.origin"] == "traced"
    # version, trace id, parent (the tool's span), flags (sampled, and the
    # SDK's "random trace id" bit)
    expected = f"00-{events[0].trace_id}-{tool_span.context.span_id:016x}-"
    assert seen["header"].startswith(expected)
    assert seen["meta"] == seen["header"]
