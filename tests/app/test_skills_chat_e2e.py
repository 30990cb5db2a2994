"""End to end over HTTP: the scripted LLM loads a bundled skill and runs its script.

Until the flow's SkillExecutorAgent lands, this test gives the ``simple``
agent the skill tools through the runtime's FlowCatalog (its public way to
register agents): a small agent attaches ``skill_tools`` for the run's user
and session with ``proxy_with``, then delegates to SimpleAgent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from app.main import create_app
from sagents.agents.simple import SimpleAgent
from sagents.context.session_context import SessionContext
from sagents.events import EventBase, RunFinished, ToolResult
from sagents.skills import SkillManager, proxy_with, skill_tools
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, ServerThread, Turn
from tests.app.conftest import chat
from tests.conftest import make_settings


class SkillToolsSimpleAgent:
    name = "simple"
    role = "simple"

    def __init__(self, skills: SkillManager) -> None:
        self.skills = skills

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        view = await self.skills.for_user(ctx.user_id)
        specs = skill_tools(view, self.skills.workspace(ctx.session_id))
        ctx.tools = proxy_with(ctx.tools, specs)
        async for event in SimpleAgent().run(ctx):
            yield event


async def test_scripted_llm_loads_and_runs_a_bundled_skill(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    mock_llm.set_script(
        Script(
            turns=[
                Turn(
                    tool_calls=[
                        ScriptedToolCall(name="load_skill", arguments={"name": "unit-convert"})
                    ]
                ),
                Turn(
                    tool_calls=[
                        ScriptedToolCall(
                            name="run_skill_script",
                            arguments={
                                "name": "unit-convert",
                                "script": "convert.py",
                                "args": ["5", "mi", "km"],
                            },
                        )
                    ]
                ),
                Turn(text="5 mi = 8.04672 km"),
            ]
        )
    )
    settings = make_settings(tmp_path / "data", llm_base_url=mock_llm.base_url)
    app = create_app(settings)
    server = ServerThread(app)
    url = server.start()
    try:
        runtime = app.state.runtime
        assert runtime.skills is not None
        runtime.catalog.add_agent(SkillToolsSimpleAgent(runtime.skills))
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            events = await chat(
                http, message="How many km is 5 miles?", deep_thinking=False, multi_agent=False
            )
    finally:
        server.stop()

    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.tool for r in results] == ["load_skill", "run_skill_script"]
    assert all(r.ok for r in results), results
    assert "# Unit conversion" in results[0].content  # the body, via level 2
    assert "8.04672 km" in results[1].content  # the script's real output, via level 3
    final = events[-1]
    assert isinstance(final, RunFinished) and "8.04672 km" in final.answer
    # The model was shown the script's output before it answered.
    last_request = mock_llm.requests[-1]
    assert "8.04672 km" in last_request["messages"][-1]["content"]
    # The body is not in any system prompt: level 2 only through load_skill.
    for request in mock_llm.requests:
        system = [m for m in request["messages"] if m["role"] == "system"]
        assert all("Unit conversion" not in (m.get("content") or "") for m in system)
