"""A skill script run is a span under its execute_tool span (the real
sandbox, a bundled skill)."""

from __future__ import annotations

from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from tests.conftest import BUNDLED_SKILLS
from tests.observability.conftest import Traced, TracedFactory


async def test_skill_script_span(traced: TracedFactory) -> None:
    call = ScriptedToolCall(
        name="run_skill_script",
        arguments={"name": "unit-convert", "script": "convert.py", "args": ["3", "mi", "km"]},
    )
    llm = ScriptedLLM(
        [
            Turn(
                role="skill_select",
                json={"use_skill": True, "skill": "unit-convert", "reason": "r"},
            ),
            Turn(role="simple", tool_calls=[call]),
            Turn(role="simple", text="About 4.83 km."),
        ]
    )
    t: Traced = await traced(llm, skills_bundled_dir=BUNDLED_SKILLS)
    request = RunRequest(message="3 miles in km?", deep_thinking=False, multi_agent=False)
    events = [e async for e in SAgent(t.rt).run_stream(request, "u1")]
    (result,) = [e for e in events if e.type == "tool.result"]
    assert getattr(result, "ok", False), getattr(result, "content", "")
    (tool_span,) = t.named("execute_tool run_skill_script")
    attributes = tool_span.attributes or {}
    assert (attributes["sage.tool.source"], attributes["sage.tool.origin"]) == (
        "skill",
        "unit-convert",
    )
    (script,) = t.named("run_skill_script unit-convert/convert.py")
    assert script.parent is not None and script.parent.span_id == tool_span.context.span_id
    assert (script.attributes or {})["process.exit.code"] == 0
