"""``sage eval golden``: the shipped scenarios match their golden traces,
and a change to the flow shows up as a diff."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from app.cli.main import app
from sagents.evals.golden import check
from sagents.flow.default import default_flow
from sagents.flow.nodes import AgentNode, Flow, SequenceNode


async def test_every_shipped_scenario_matches_its_golden_trace() -> None:
    outcomes = await check()
    assert [o.scenario for o in outcomes] == [
        "simple_answer",
        "tool_call",
        "skill",
        "deep_thinking",
        "multi_agent_retry",
        "clamp",
        "cancel",
        "failure",
    ]
    for outcome in outcomes:
        assert outcome.ok, outcome.diff()


def without_router() -> Flow:
    flow = default_flow()
    assert isinstance(flow.root, SequenceNode)
    steps = [s for s in flow.root.steps if not (isinstance(s, AgentNode) and s.agent == "router")]
    assert len(steps) == len(flow.root.steps) - 1
    return Flow(name=flow.name, root=SequenceNode(steps=steps))


async def test_removing_an_agent_from_the_flow_is_a_diff() -> None:
    (outcome,) = await check(only=["simple_answer"], flow=without_router())
    assert not outcome.ok
    diff = outcome.diff()
    assert '-{"type": "agent.started", "agent": "router"}' in diff
    assert '-{"type": "route.decided", "agent": "router", "source": "options"}' in diff
    assert "+{" not in diff  # nothing new, only the router's lines gone


async def test_the_command_passes_and_names_the_scenarios() -> None:
    runner = CliRunner()
    command = ["eval", "golden", "--only", "simple_answer", "--only", "cancel"]
    result = await asyncio.to_thread(runner.invoke, app, command)
    assert result.exit_code == 0, result.output
    assert "ok       simple_answer" in result.output and "ok       cancel" in result.output
    unknown = await asyncio.to_thread(runner.invoke, app, ["eval", "golden", "--only", "nope"])
    assert unknown.exit_code == 2 and "unknown scenarios: nope" in unknown.output
