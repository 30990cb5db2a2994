"""An agent run as a tool traces like any agent, under the call that ran it:
its ``invoke_agent`` span is a child of the caller's ``execute_tool`` span,
and its own LLM and tool calls are children of that."""

from __future__ import annotations

from sagents.agents.agent_tool import AgentToolSpec
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.observability.conftest import Traced, TracedFactory
from tests.observability.test_traces import parent_name


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


RESEARCHER = AgentToolSpec(
    name="researcher",
    description="Works out a sub-question.",
    instructions="Use tools to compute.",
    tools=("multiply",),
    role="researcher",
)


def call(role: str, name: str, **arguments: object) -> Turn:
    return Turn(role=role, tool_calls=[ScriptedToolCall(name=name, arguments=arguments)])


async def test_sub_agent_spans_nest_under_the_parent_call(traced: TracedFactory) -> None:
    tools = ToolManager()
    tools.add(multiply)
    tools.add(RESEARCHER.tool())
    llm = ScriptedLLM(
        [
            call("simple", "researcher", task="6*7?"),
            call("researcher", "multiply", a=6, b=7),
            Turn(role="researcher", text="It is 42."),
            Turn(role="simple", text="42."),
        ]
    )
    t: Traced = await traced(llm, tools=tools)
    request = RunRequest(message="6*7?", deep_thinking=False, multi_agent=False)
    events = [e async for e in SAgent(t.rt).run_stream(request, "u1")]
    assert events[-1].type == "run.finished"

    spans = t.spans()
    (sub,) = t.named("invoke_agent researcher")
    assert parent_name(sub, spans) == "execute_tool researcher"
    assert (sub.attributes or {})["gen_ai.agent.name"] == "researcher"
    assert parent_name(t.named("execute_tool multiply")[0], spans) == "invoke_agent researcher"
    asked = [s for s in spans if s.name.startswith("chat ")]
    by_role = {(s.attributes or {})["sage.llm.role"]: parent_name(s, spans) for s in asked}
    assert by_role["researcher"] == "invoke_agent researcher"
    assert by_role["simple"] != "invoke_agent researcher"
    assert sub.end_time is not None
