"""The default flow and the catalog that runs it.

For now the default flow is the simple path of DESIGN.md §4 (SimpleAgent
answering or calling tools until done); the multi-agent branches are added
as their agents land, as nodes in this same graph.
"""

from __future__ import annotations

from sagents.agents.simple import SimpleAgent
from sagents.flow.catalog import FlowCatalog
from sagents.flow.nodes import AgentNode, Flow, SequenceNode


def default_flow() -> Flow:
    return Flow(name="default", root=SequenceNode(steps=[AgentNode(agent="simple")]))


def default_catalog() -> FlowCatalog:
    catalog = FlowCatalog()
    catalog.add_agent(SimpleAgent())
    return catalog
