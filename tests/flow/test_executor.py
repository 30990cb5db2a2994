"""The flow interpreter: sequence, if, loop, agent wrapping, bounds, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from sagents.agents.base import Agent
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase, RunCancelled, is_terminal
from sagents.flow import (
    AgentNode,
    Flow,
    FlowCatalog,
    FlowError,
    IfNode,
    LoopNode,
    SequenceNode,
    default_catalog,
    default_flow,
    to_mermaid,
)
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM
from tests.conftest import RuntimeFactory


class Counter:
    """An agent that counts its runs in the context and says so."""

    role = "simple"

    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, ctx) -> AsyncIterator[EventBase]:  # type: ignore[no-untyped-def]
        ctx.state[self.name] = ctx.state.get(self.name, 0) + 1
        yield AgentNotice(code="ran", message=f"{self.name} #{ctx.state[self.name]}")
        ctx.answer = f"{self.name} done"


class Sleeper:
    name = "sleeper"
    role = "simple"

    async def run(self, ctx) -> AsyncIterator[EventBase]:  # type: ignore[no-untyped-def]
        yield AgentNotice(code="sleeping", message="zzz")
        await asyncio.sleep(10)


def catalog(*agents: Agent) -> FlowCatalog:
    cat = FlowCatalog()
    for agent in agents:
        cat.add_agent(agent)
    cat.add_condition("always", lambda ctx: True)
    cat.add_condition("never", lambda ctx: False)
    cat.add_condition("b_ran_twice", lambda ctx: ctx.state.get("b", 0) >= 2)
    return cat


async def run_flow(make_runtime: RuntimeFactory, cat: FlowCatalog, flow: Flow) -> list[EventBase]:
    rt = await make_runtime(ScriptedLLM([]), catalog=cat)
    return [e async for e in SAgent(rt, flow).run_stream(RunRequest(message="x"), "u")]


def notices(events: list[EventBase]) -> list[str]:
    return [e.message for e in events if isinstance(e, AgentNotice)]


async def test_sequence_if_and_loop(make_runtime: RuntimeFactory) -> None:
    flow = Flow(
        name="t",
        root=SequenceNode(
            steps=[
                AgentNode(agent="a"),
                IfNode(
                    condition="never", then=AgentNode(agent="c"), otherwise=AgentNode(agent="b")
                ),
                LoopNode(body=AgentNode(agent="b"), until="b_ran_twice"),
                IfNode(condition="always", then=AgentNode(agent="c")),
            ]
        ),
    )
    events = await run_flow(make_runtime, catalog(Counter("a"), Counter("b"), Counter("c")), flow)
    assert notices(events) == ["a #1", "b #1", "b #2", "c #1"]
    starts = [(e.agent, e.type) for e in events if e.type in ("agent.started", "agent.finished")]
    assert starts[:2] == [("a", "agent.started"), ("a", "agent.finished")]
    assert all(e.agent is not None for e in events if e.type == "agent.notice")
    assert events[-1].type == "run.finished" and events[-1].answer == "c done"  # type: ignore[attr-defined]


async def test_loop_is_bounded_and_says_so(make_runtime: RuntimeFactory) -> None:
    flow = Flow(name="t", root=LoopNode(body=AgentNode(agent="a"), until="never", max_iterations=3))
    events = await run_flow(make_runtime, catalog(Counter("a")), flow)
    assert notices(events)[:3] == ["a #1", "a #2", "a #3"]
    assert any(e.code == "max_loop_count" for e in events if isinstance(e, AgentNotice))


async def test_unknown_names_are_rejected_before_running(make_runtime: RuntimeFactory) -> None:
    rt = await make_runtime(ScriptedLLM([]), catalog=catalog(Counter("a")))
    bad = Flow(name="bad", root=IfNode(condition="nope", then=AgentNode(agent="ghost")))
    with pytest.raises(FlowError, match="ghost") as info:
        SAgent(rt, bad)
    assert "nope" in str(info.value)


async def test_cancel_closes_open_agents_once(make_runtime: RuntimeFactory) -> None:
    rt = await make_runtime(ScriptedLLM([]), catalog=catalog(Sleeper()))
    agent = SAgent(rt, Flow(name="t", root=SequenceNode(steps=[AgentNode(agent="sleeper")])))
    info = await agent.start(RunRequest(message="x"), "u")
    events = []
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if event.type == "agent.notice":
            agent.cancel(info.run_id)
    assert [e.type for e in events] == [
        "run.started",
        "agent.started",
        "agent.notice",
        "agent.finished",
        "run.cancelled",
    ]
    assert events[3].status == "cancelled"  # type: ignore[attr-defined]


class Canceller:
    """An agent during whose turn the user asks to cancel; it ends its turn
    without awaiting anything, so only the executor's check can see it."""

    name = "canceller"
    role = "simple"

    def __init__(self, cancel: Callable[[SessionContext], object]) -> None:
        self.cancel = cancel

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        self.cancel(ctx)
        yield AgentNotice(code="ran", message="canceller #1")


CHECKPOINT_FLOWS = {
    "between steps": SequenceNode(
        steps=[AgentNode(agent="a"), IfNode(condition="cancel", then=AgentNode(agent="b"))]
    ),
    "between loop iterations": LoopNode(body=AgentNode(agent="a"), until="cancel_and_go_on"),
    "after an agent": SequenceNode(steps=[AgentNode(agent="canceller"), AgentNode(agent="b")]),
}


@pytest.mark.parametrize("where", sorted(CHECKPOINT_FLOWS))
async def test_a_cancel_asked_between_nodes_stops_before_the_next_node(
    make_runtime: RuntimeFactory, where: str
) -> None:
    """The cancel arrives while the run is not awaiting anything (a condition,
    the end of an agent's turn), so no ``CancelledError`` can interrupt the
    run there: only the checkpoints between nodes stop the next one."""
    runs: list[SAgent] = []

    def cancel(ctx: SessionContext) -> bool:
        assert runs[0].cancel(ctx.run_id, "stop between nodes")
        return False

    cat = catalog(Counter("a"), Counter("b"), Canceller(cancel))
    cat.add_condition("cancel", lambda ctx: not cancel(ctx))
    cat.add_condition("cancel_and_go_on", cancel)
    rt = await make_runtime(ScriptedLLM([]), catalog=cat)
    agent = SAgent(rt, Flow(name="t", root=CHECKPOINT_FLOWS[where]))
    runs.append(agent)
    info = await agent.start(RunRequest(message="x"), "u")
    events = [e async for e in rt.runs.subscribe(info.run_id)]

    started = [e.agent for e in events if e.type == "agent.started"]
    assert started == ["canceller" if where == "after an agent" else "a"], started
    assert len(notices(events)) == 1, notices(events)
    terminal = [e for e in events if is_terminal(e)]
    assert terminal == [events[-1]] and isinstance(events[-1], RunCancelled)
    assert events[-1].reason == "stop between nodes"


def test_flow_round_trips_as_json_and_renders() -> None:
    flow = Flow(
        name="t",
        root=SequenceNode(
            steps=[
                IfNode(condition="always", then=AgentNode(agent="a")),
                LoopNode(body=AgentNode(agent="b"), until="never"),
            ]
        ),
    )
    data = flow.model_dump(by_alias=True)
    assert Flow.model_validate(data) == flow
    mermaid = to_mermaid(flow)
    assert mermaid.startswith("flowchart TD")
    assert "always?" in mermaid and "until never" in mermaid
    assert "simple" in to_mermaid(default_flow())
    default_catalog().validate(default_flow())
