"""Log records carry the run's session, run and trace ids, as text or JSON
lines, with secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sagents.events import EventBase
from sagents.observability.logs import JsonFormatter, RunFields, TextFormatter
from sagents.observability.redact import Redactor
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.conftest import RuntimeFactory

LOGGER = "tests.observability.tool"


@tool
def chatty(text: str) -> str:
    """Logs its argument."""
    logging.getLogger(LOGGER).warning("tool saw %s", text)
    return "logged"


def tools() -> ToolManager:
    manager = ToolManager()
    manager.add(chatty)
    return manager


@pytest.fixture
def captured() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler, buffer
    logger.removeHandler(handler)


async def run(rt: Runtime, text: str) -> list[EventBase]:
    llm = rt.llm
    assert isinstance(llm, ScriptedLLM)
    llm.set_script(
        [
            Turn(
                role="simple",
                tool_calls=[ScriptedToolCall(name="chatty", arguments={"text": text})],
            ),
            Turn(role="simple", text="done"),
        ]
    )
    request = RunRequest(message="go", deep_thinking=False, multi_agent=False)
    return [e async for e in SAgent(rt).run_stream(request, "u1")]


async def test_json_lines_carry_the_run_ids(
    make_runtime: RuntimeFactory, captured: tuple[logging.Handler, io.StringIO]
) -> None:
    handler, buffer = captured
    handler.addFilter(RunFields())
    handler.setFormatter(JsonFormatter())
    rt = await make_runtime(ScriptedLLM(), tools())
    events = await run(rt, "hello")
    (line,) = buffer.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "tool saw hello"
    assert record["level"] == "warning" and record["logger"] == LOGGER
    assert record["session_id"] == events[0].session_id
    assert record["run_id"] == events[0].run_id
    assert record["trace_id"] == events[0].trace_id and len(record["trace_id"]) == 32


async def test_text_lines_carry_the_run_ids_and_no_secret(
    make_runtime: RuntimeFactory, captured: tuple[logging.Handler, io.StringIO]
) -> None:
    handler, buffer = captured
    rt = await make_runtime(ScriptedLLM(), tools())
    handler.addFilter(RunFields(rt.redactor))
    handler.setFormatter(TextFormatter())
    # The test settings' LLM key, and a bearer token the model made up.
    events = await run(rt, "key test-key-12345 and Authorization: Bearer abcdefgh12345678")
    text = buffer.getvalue()
    assert f"run={events[0].run_id} trace={events[0].trace_id}" in text
    assert "abcdefgh12345678" not in text and "test-key" not in text
    assert "[REDACTED]" in text


def test_redactor_patterns_and_known_values() -> None:
    redactor = Redactor(["my-mcp-header-value"])
    line = (
        "calling with my-mcp-header-value, sk-proj-abcdefghijklmnopqrstuv, "
        'api_key=hunter2hunter2 and {"token": "zzzzzzzzzz"}, ghp_' + "a" * 36
    )
    cleaned = redactor.text(line)
    for secret in ("my-mcp-header-value", "sk-proj-abc", "hunter2", "zzzzzzzzzz", "ghp_aaaa"):
        assert secret not in cleaned
    assert "api_key=[REDACTED]" in cleaned
    assert redactor.text("nothing secret here: run_123 took 5 s") == (
        "nothing secret here: run_123 took 5 s"
    )
