"""The flow graph as data: four node types, serialisable to JSON.

A flow names its agents and conditions instead of holding code, so the same
graph can be printed (Mermaid), returned over HTTP, diffed in tests and
passed in by a caller. The ``FlowCatalog`` resolves the names at run time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AgentNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["agent"] = "agent"
    agent: str
    id: str | None = Field(default=None, description="Node id; defaults to the agent name.")

    @property
    def node_id(self) -> str:
        return self.id or self.agent


class SequenceNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["sequence"] = "sequence"
    steps: list[FlowNode]


class IfNode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["if"] = "if"
    condition: str
    then: FlowNode
    otherwise: FlowNode | None = Field(default=None, alias="else")


class LoopNode(BaseModel):
    """Runs ``body`` until ``until`` holds, at most ``max_iterations`` times
    (the run's ``max_loop_count`` when unset)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["loop"] = "loop"
    body: FlowNode
    until: str
    max_iterations: int | None = Field(default=None, ge=1)
    id: str = "loop"


FlowNode = Annotated[AgentNode | SequenceNode | IfNode | LoopNode, Field(discriminator="type")]


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    root: FlowNode


SequenceNode.model_rebuild()
IfNode.model_rebuild()
LoopNode.model_rebuild()
Flow.model_rebuild()
