"""A place in a flow graph, to continue a walk from after a restart.

A run that waited (for an approval) inside an agent of its flow and whose
process stopped is continued by another process: that agent's work is
finished by the resume code, then the walk goes on from just after the
agent, in the same sequences, branches and loops it was in. The place is a
node path from the root (a sequence's step index, ``"then"`` / ``"else"`` of
an if, ``"body"`` of a loop) plus how many times each loop on it has run
(the loop's ``until`` is checked before the next iteration, and the run's
``max_loop_count`` still counts the iterations before the restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode

PathStep = int | str
"""A sequence's step index, or ``"then"`` / ``"else"`` / ``"body"``."""


@dataclass(frozen=True, slots=True)
class FlowPosition:
    """Just after the agent at ``path``; ``iterations`` by loop id: how many
    times each loop on the path has started its body (the current one
    included)."""

    path: tuple[PathStep, ...]
    iterations: dict[str, int] = field(default_factory=dict)


def locate(flow: Flow, agent: str) -> tuple[PathStep, ...] | None:
    """The path of the one agent node running ``agent``; None when the flow
    has none, or more than one (the place would be ambiguous)."""
    found: list[tuple[PathStep, ...]] = []
    todo: list[tuple[FlowNode, tuple[PathStep, ...]]] = [(flow.root, ())]
    while todo:
        node, path = todo.pop()
        if isinstance(node, AgentNode):
            if node.agent == agent:
                found.append(path)
        elif isinstance(node, SequenceNode):
            todo += [(step, (*path, i)) for i, step in enumerate(node.steps)]
        elif isinstance(node, IfNode):
            todo.append((node.then, (*path, "then")))
            if node.otherwise is not None:
                todo.append((node.otherwise, (*path, "else")))
        elif isinstance(node, LoopNode):
            todo.append((node.body, (*path, "body")))
    return found[0] if len(found) == 1 else None


def nodes_on(flow: Flow, path: tuple[PathStep, ...]) -> list[FlowNode]:
    """The nodes from the root down to the one at ``path`` (both included);
    ``ValueError`` if the path does not fit the flow."""
    node: FlowNode = flow.root
    nodes = [node]
    for step in path:
        if isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.steps):
            node = node.steps[step]
        elif isinstance(node, IfNode) and step == "then":
            node = node.then
        elif isinstance(node, IfNode) and step == "else" and node.otherwise is not None:
            node = node.otherwise
        elif isinstance(node, LoopNode) and step == "body":
            node = node.body
        else:
            raise ValueError(f"path {path!r} does not fit flow {flow.name!r}")
        nodes.append(node)
    return nodes


def loops_on(flow: Flow, path: tuple[PathStep, ...]) -> list[LoopNode]:
    """The loops the node at ``path`` runs inside, outermost first."""
    return [n for n in nodes_on(flow, path)[:-1] if isinstance(n, LoopNode)]
