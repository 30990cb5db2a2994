"""Flows as data: nodes, the catalog that names their parts, the executor."""

from sagents.flow.catalog import Condition, FlowCatalog, FlowError
from sagents.flow.default import default_catalog, default_flow
from sagents.flow.executor import FlowExecutor
from sagents.flow.mermaid import to_mermaid
from sagents.flow.nodes import AgentNode, Flow, FlowNode, IfNode, LoopNode, SequenceNode

__all__ = [
    "AgentNode",
    "Condition",
    "Flow",
    "FlowCatalog",
    "FlowError",
    "FlowExecutor",
    "FlowNode",
    "IfNode",
    "LoopNode",
    "SequenceNode",
    "default_catalog",
    "default_flow",
    "to_mermaid",
]
