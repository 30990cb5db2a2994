"""Walking a flow from a place in it (a resumed run): the rest of the
sequences it is in, its loops' ``until`` checked before they run again,
their iteration counts kept against their bound."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sagents.context.session_context import SessionContext
from sagents.events import EventBase
from sagents.flow import AgentNode, Flow, FlowCatalog, FlowExecutor, IfNode, LoopNode, SequenceNode
from sagents.flow.position import FlowPosition, locate, loops_on
from tests.conftest import RuntimeFactory
from tests.flow.test_executor import Counter, catalog, notices, run_flow

FLOW = Flow(
    name="t",
    root=SequenceNode(
        steps=[
            AgentNode(agent="a"),
            IfNode(
                condition="always",
                then=LoopNode(
                    id="L",
                    body=SequenceNode(steps=[AgentNode(agent="b"), AgentNode(agent="c")]),
                    until="b_ran_twice",
                    max_iterations=3,
                ),
            ),
            AgentNode(agent="d"),
        ]
    ),
)


class From:
    """Walks ``FLOW`` from ``at`` inside a real run (its context)."""

    name = "from"
    role = "simple"

    def __init__(self, cat: FlowCatalog, at: FlowPosition, flow: Flow) -> None:
        self.cat, self.at, self.flow = cat, at, flow

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        async for event in FlowExecutor(self.cat).run(self.flow, ctx, after=self.at):
            yield event


async def walk_events(
    make_runtime: RuntimeFactory, at: FlowPosition, flow: Flow = FLOW
) -> list[EventBase]:
    cat = catalog(*(Counter(n) for n in "abcd"))
    cat.add_agent(From(cat, at, flow))
    return await run_flow(make_runtime, cat, Flow(name="outer", root=AgentNode(agent="from")))


async def walk_from(make_runtime: RuntimeFactory, at: FlowPosition, flow: Flow = FLOW) -> list[str]:
    return notices(await walk_events(make_runtime, at, flow))


def test_locate_finds_the_one_node_and_its_loops() -> None:
    path = locate(FLOW, "b")
    assert path == (1, "then", "body", 0)
    assert [loop.id for loop in loops_on(FLOW, path)] == ["L"]
    assert locate(FLOW, "ghost") is None
    twice = Flow(name="t", root=SequenceNode(steps=[AgentNode(agent="a"), AgentNode(agent="a")]))
    assert locate(twice, "a") is None  # ambiguous: no place


async def test_the_walk_goes_on_after_the_agent_then_round_the_loop(
    make_runtime: RuntimeFactory,
) -> None:
    # After b in the loop's first iteration: c, then the loop runs on until
    # b ran twice (b counts from this walk), then what follows the loop.
    at = FlowPosition((1, "then", "body", 0), {"L": 1})
    assert await walk_from(make_runtime, at) == ["c #1", "b #1", "c #2", "b #2", "c #3", "d #1"]


async def test_the_loop_checks_its_condition_before_running_again(
    make_runtime: RuntimeFactory,
) -> None:
    # The task loop after its last task: the body's rest, then no new round.
    done = Flow(
        name="t",
        root=SequenceNode(
            steps=[
                LoopNode(
                    id="L",
                    body=SequenceNode(steps=[AgentNode(agent="b"), AgentNode(agent="c")]),
                    until="always",
                ),
                AgentNode(agent="d"),
            ]
        ),
    )
    at = FlowPosition((0, "body", 0), {"L": 1})
    assert await walk_from(make_runtime, at, done) == ["c #1", "d #1"]


async def test_the_iterations_before_count_against_the_bound(
    make_runtime: RuntimeFactory,
) -> None:
    # In the loop's last allowed iteration: c, then the bound stops it.
    at = FlowPosition((1, "then", "body", 0), {"L": 3})
    got = await walk_from(make_runtime, at)
    assert got == ["c #1", "Stopped 'L' after 3 iterations (max_loop_count).", "d #1"]


async def test_a_path_that_is_not_an_agent_fails_the_run(
    make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    events = await walk_events(make_runtime, FlowPosition((1, "then")))
    assert notices(events) == [] and events[-1].type == "run.failed"
    assert "is not an agent" in caplog.text
