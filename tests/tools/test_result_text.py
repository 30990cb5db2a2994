"""What a tool's return value becomes as tool-message text, whatever its
type or size, and that the cap applies before the run reports or stores it."""

from __future__ import annotations

import base64
import json

import pytest

from sagents.events import EventBase, RunFinished, ToolResult
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from sagents.tools.result_text import result_to_text
from tests.conftest import RuntimeFactory


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        (b"caf\xc3\xa9", "café"),
        (bytearray(b"hi"), "hi"),
        (memoryview(b"view"), "view"),
        (b"\xff\xfe\x00", "[binary result: 3 bytes, not shown]"),
        (None, "null"),
        ({"n": 1, "s": {2}}, '{"n":1,"s":[2]}'),
    ],
)
def test_values_become_text(value: object, text: str) -> None:
    assert result_to_text(value) == text


def test_binary_inside_a_structure_is_base64_not_a_failure() -> None:
    text = result_to_text({"blob": b"\xff\x00"})
    assert json.loads(text) == {"blob": base64.urlsafe_b64encode(b"\xff\x00").decode()}


HUGE = 20_000_000


@tool
def huge_text() -> str:
    """20 MB of text."""
    return "z" * HUGE


@tool
def huge_rows() -> dict[str, list[dict[str, int]]]:
    """A big structure."""
    return {"rows": [{"n": i} for i in range(500_000)]}


@tool
def binary() -> bytes:
    """Binary data."""
    return bytes(range(256)) * 100


async def test_huge_results_are_cut_before_they_are_reported_or_stored(
    make_runtime: RuntimeFactory,
) -> None:
    tools = ToolManager()
    for spec in (huge_text, huge_rows, binary):
        tools.add(spec)
    calls = [ScriptedToolCall(name=n) for n in ("huge_text", "huge_rows", "binary")]
    llm = ScriptedLLM([Turn(tool_calls=calls), Turn(text="done")])
    rt = await make_runtime(llm, tools)
    request = RunRequest(message="big", deep_thinking=False, multi_agent=False)
    events: list[EventBase] = [e async for e in SAgent(rt).run_stream(request, "u1")]
    cap = rt.settings.tool_max_result_chars

    results = {e.tool: e for e in events if isinstance(e, ToolResult)}
    assert all(r.ok for r in results.values())
    assert results["huge_text"].content.endswith(f"[truncated: {cap} of {HUGE} characters shown]")
    assert results["huge_rows"].content.startswith('{"rows":[{"n":0},')
    assert results["binary"].content == "[binary result: 25600 bytes, not shown]"
    for result in results.values():
        assert len(result.content) < cap + 100
    stored = await rt.store.list_messages(events[0].session_id)
    assert all(len(m.content or "") < cap + 100 for m in stored if m.role == "tool")
    assert isinstance(events[-1], RunFinished)
