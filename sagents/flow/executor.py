"""The interpreter of flow graphs.

It walks agent, sequence, if and loop nodes, wraps every agent in
``agent.started`` / ``agent.finished``, and stops between nodes and loop
iterations as soon as a cancel is requested. Errors and cancellation are not
turned into events here: they propagate to the run (``sagents.sagent``),
which closes the agents still open (``SessionContext.open_agents``) and emits
the one terminal event. Keeping that in one place is what guarantees exactly
one terminal event per run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from sagents.context.session_context import SessionContext
from sagents.events import AgentFinished, AgentNotice, AgentStarted, EventBase
from sagents.flow.catalog import FlowCatalog
from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode


class FlowExecutor:
    def __init__(self, catalog: FlowCatalog) -> None:
        self.catalog = catalog

    def run(self, flow: Flow, ctx: SessionContext) -> AsyncIterator[EventBase]:
        return self._node(flow.root, ctx)

    async def _node(self, node: FlowNode, ctx: SessionContext) -> AsyncIterator[EventBase]:
        if ctx.cancel_requested:
            raise asyncio.CancelledError
        if isinstance(node, AgentNode):
            async for event in self._agent(node, ctx):
                yield event
        elif isinstance(node, SequenceNode):
            for step in node.steps:
                async for event in self._node(step, ctx):
                    yield event
        elif isinstance(node, IfNode):
            branch = node.then if self.catalog.conditions[node.condition](ctx) else node.otherwise
            if branch is not None:
                async for event in self._node(branch, ctx):
                    yield event
        elif isinstance(node, LoopNode):
            async for event in self._loop(node, ctx):
                yield event

    async def _loop(self, node: LoopNode, ctx: SessionContext) -> AsyncIterator[EventBase]:
        limit = node.max_iterations or ctx.max_loop_count
        until = self.catalog.conditions[node.until]
        for iteration in range(limit):
            if ctx.cancel_requested:
                raise asyncio.CancelledError
            ctx.state[f"{node.id}.iteration"] = iteration
            async for event in self._node(node.body, ctx):
                yield event
            if until(ctx):
                return
        ctx.state[f"{node.id}.exhausted"] = True
        yield AgentNotice(
            code="max_loop_count",
            message=f"Stopped '{node.id}' after {limit} iterations (max_loop_count).",
        )

    async def _agent(self, node: AgentNode, ctx: SessionContext) -> AsyncIterator[EventBase]:
        agent = self.catalog.agents[node.agent]
        node_id = node.node_id
        started = time.perf_counter()
        ctx.open_agents.append((agent.name, node_id, started))
        yield AgentStarted(agent=agent.name, node=node_id, model=ctx.llm.model_for(agent.role))
        async for event in agent.run(ctx):
            if event.agent is None:
                event.agent = agent.name
            yield event
        ctx.open_agents.pop()
        yield AgentFinished(
            agent=agent.name,
            node=node_id,
            status="ok",
            duration_ms=(time.perf_counter() - started) * 1000,
        )
