"""Name → implementation maps for the agents and conditions a flow names.

A catalog is built per ``Runtime`` (never a module-level registry), so two
runtimes in one process can carry different agents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sagents.agents.base import Agent
from sagents.context.session_context import SessionContext
from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode

Condition = Callable[[SessionContext], bool]


class FlowError(ValueError):
    """A flow names an agent or condition the catalog does not have."""


@dataclass
class FlowCatalog:
    agents: dict[str, Agent] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=dict)

    def add_agent(self, agent: Agent) -> None:
        self.agents[agent.name] = agent

    def add_condition(self, name: str, condition: Condition) -> None:
        self.conditions[name] = condition

    def validate(self, flow: Flow) -> None:
        """Fail before a run starts rather than halfway through it."""
        missing: list[str] = []
        for node in _walk(flow.root):
            if isinstance(node, AgentNode) and node.agent not in self.agents:
                missing.append(f"agent '{node.agent}'")
            elif isinstance(node, IfNode) and node.condition not in self.conditions:
                missing.append(f"condition '{node.condition}'")
            elif isinstance(node, LoopNode) and node.until not in self.conditions:
                missing.append(f"condition '{node.until}'")
        if missing:
            raise FlowError(f"flow '{flow.name}' names unknown " + ", ".join(missing))


def _walk(node: FlowNode) -> Iterable[FlowNode]:
    yield node
    if isinstance(node, SequenceNode):
        for step in node.steps:
            yield from _walk(step)
    elif isinstance(node, IfNode):
        yield from _walk(node.then)
        if node.otherwise is not None:
            yield from _walk(node.otherwise)
    elif isinstance(node, LoopNode):
        yield from _walk(node.body)
