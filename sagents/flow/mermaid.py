"""Render a flow as a Mermaid flowchart, for ``sage flow`` and ``GET /api/v1/flow``."""

from __future__ import annotations

from itertools import count

from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode


def to_mermaid(flow: Flow) -> str:
    lines = ["flowchart TD", "  start([run.started])"]
    ids = count(1)

    def edge(src: str, dst: str, label: str | None) -> None:
        lines.append(f"  {src} -- {label} --> {dst}" if label else f"  {src} --> {dst}")

    def render(node: FlowNode, entry: str, label: str | None = None) -> str:
        """Draw ``node`` after ``entry`` (the edge labelled ``label``); return its exit id."""
        if isinstance(node, AgentNode):
            nid = f"n{next(ids)}"
            lines.append(f"  {nid}[{node.agent}]")
            edge(entry, nid, label)
            return nid
        if isinstance(node, SequenceNode):
            exit_id = entry
            for step in node.steps:
                exit_id = render(step, exit_id, label)
                label = None
            return exit_id
        if isinstance(node, IfNode):
            cid, join = f"c{next(ids)}", f"j{next(ids)}"
            lines.append(f"  {cid}{{{node.condition}?}}")
            lines.append(f"  {join}(( ))")
            edge(entry, cid, label)
            edge(render(node.then, cid, "yes"), join, None)
            if node.otherwise is not None:
                edge(render(node.otherwise, cid, "no"), join, None)
            else:
                edge(cid, join, "no")
            return join
        assert isinstance(node, LoopNode)
        head = f"l{next(ids)}"
        lines.append(f"  {head}[/{node.id}: until {node.until}/]")
        edge(entry, head, label)
        body_exit = render(node.body, head)
        edge(body_exit, head, f"not {node.until}")
        return body_exit

    last = render(flow.root, "start")
    lines.append("  done([run.finished])")
    edge(last, "done", None)
    return "\n".join(lines) + "\n"
