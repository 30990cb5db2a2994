"""The interpreter of flow graphs.

It walks agent, sequence, if and loop nodes, wraps every agent in
``agent.started`` / ``agent.finished``, and stops between nodes and loop
iterations as soon as a cancel is requested. Errors and cancellation are not
turned into events here: they propagate to the run (``sagents.sagent``),
which closes the agents still open (``RunControl.open_agents``) and emits
the one terminal event. Keeping that in one place is what guarantees exactly
one terminal event per run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from sagents.context.session_context import SessionContext
from sagents.events import AgentFinished, AgentNotice, AgentStarted, EventBase
from sagents.flow.catalog import FlowCatalog
from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode
from sagents.flow.position import FlowPosition, nodes_on


@dataclass(slots=True)
class _Steps:
    """A sequence (or a taken branch) being walked."""

    steps: Iterator[FlowNode]


@dataclass(slots=True)
class _Loop:
    """A loop node being run: how many times its body has run so far."""

    node: LoopNode
    limit: int
    iteration: int = 0


class FlowExecutor:
    def __init__(self, catalog: FlowCatalog) -> None:
        self.catalog = catalog

    async def run(
        self, flow: Flow, ctx: SessionContext, *, after: FlowPosition | None = None
    ) -> AsyncIterator[EventBase]:
        """Walk the flow with an explicit stack in this one generator.

        Nested sequences, branches and loops do not each add a generator:
        every event of a run passes through the layers between the agent
        and the client, so a recursive walk (one generator per nesting
        level) cost a few µs per event per level, on every streamed token.

        ``after``: start just after that agent (a resumed run, whose agent
        was finished by the resume), not at the root.
        """
        conditions = self.catalog.conditions
        stack: list[_Steps | _Loop] = (
            [_Steps(iter((flow.root,)))] if after is None else _stack_after(flow, after, ctx)
        )
        while stack:
            frame = stack[-1]
            if isinstance(frame, _Loop):
                node = frame.node
                if frame.iteration and conditions[node.until](ctx):
                    stack.pop()
                    continue
                if frame.iteration >= frame.limit:
                    stack.pop()
                    ctx.state[f"{node.id}.exhausted"] = True
                    yield AgentNotice(
                        code="max_loop_count",
                        message=(
                            f"Stopped '{node.id}' after {frame.limit} iterations (max_loop_count)."
                        ),
                    )
                    continue
                if ctx.control.cancel_requested:
                    raise asyncio.CancelledError
                ctx.state[f"{node.id}.iteration"] = frame.iteration
                frame.iteration += 1
                step: FlowNode | None = node.body
            else:
                step = next(frame.steps, None)
                if step is None:
                    stack.pop()
                    continue
            if ctx.control.cancel_requested:
                raise asyncio.CancelledError
            if isinstance(step, AgentNode):
                # Inline rather than a helper generator, for the same reason.
                agent = self.catalog.agents[step.agent]
                name, node_id = agent.name, step.node_id
                started = time.perf_counter()
                ctx.control.open_agents.append((name, node_id, started))
                model = ctx.llm.model_for(agent.role)
                telemetry = ctx.telemetry
                if telemetry is not None:
                    # Ended here, or by the run (telemetry.finish) if it stops inside.
                    telemetry.agent_started(name, node_id, model)
                yield AgentStarted(agent=name, node=node_id, model=model)
                # The run's emitter names this agent on the events it yields
                # (it is the innermost of ``open_agents`` while they pass).
                async for event in agent.run(ctx):
                    yield event
                ctx.control.open_agents.pop()
                if telemetry is not None:
                    telemetry.agent_finished()
                yield AgentFinished(
                    agent=name,
                    node=node_id,
                    status="ok",
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            elif isinstance(step, SequenceNode):
                stack.append(_Steps(iter(step.steps)))
            elif isinstance(step, IfNode):
                branch = step.then if conditions[step.condition](ctx) else step.otherwise
                if branch is not None:
                    stack.append(_Steps(iter((branch,))))
            elif isinstance(step, LoopNode):
                stack.append(_Loop(step, step.max_iterations or ctx.max_loop_count))


def _stack_after(flow: Flow, at: FlowPosition, ctx: SessionContext) -> list[_Steps | _Loop]:
    """The walk's stack as it is just after the agent at ``at.path`` ran:
    each sequence on the path at the step after it, each loop with its
    iteration count (so its ``until`` is checked before it runs again)."""
    nodes = nodes_on(flow, at.path)
    if not isinstance(nodes[-1], AgentNode):
        raise ValueError(f"path {at.path!r} of flow {flow.name!r} is not an agent")
    stack: list[_Steps | _Loop] = [_Steps(iter(()))]
    for node, step in zip(nodes, at.path, strict=False):
        if isinstance(node, SequenceNode) and isinstance(step, int):
            stack.append(_Steps(iter(node.steps[step + 1 :])))
        elif isinstance(node, LoopNode):
            done = at.iterations.get(node.id, 1)
            ctx.state[f"{node.id}.iteration"] = done - 1
            stack.append(_Loop(node, node.max_iterations or ctx.max_loop_count, done))
        # An if's taken branch has nothing after it of its own.
    return stack
