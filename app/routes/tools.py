"""``GET /api/v1/tools``: every tool the model can be given, and what it hides.

For each name the winning source is shown (MCP beats built-in MCP beats a
local function) together with the tools it shadows, so a surprising answer
("why did it call *that* search?") can be explained.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.deps import runtime
from app.identity import current_user
from sagents.runtime import Runtime
from sagents.tools.spec import ToolSpec

router = APIRouter(prefix="/api/v1/tools", tags=["tools"])


class ShadowedTool(BaseModel):
    source: str
    server: str | None = None


class ToolOut(BaseModel):
    name: str
    description: str
    source: str
    server: str | None = None
    """The MCP server providing it (MCP sources only)."""
    parameters: dict[str, Any]
    shadows: list[ShadowedTool]
    requires_approval: bool = False
    """Each call waits for a person's decision (``approval.requested``)."""


def _out(rt: Runtime, spec: ToolSpec) -> ToolOut:
    return ToolOut(
        name=spec.name,
        description=spec.description,
        source=spec.source.value,
        server=spec.origin,
        parameters=spec.parameters,
        shadows=[
            ShadowedTool(source=s.source.value, server=s.origin)
            for s in rt.tools.shadowed(spec.name)
        ],
        requires_approval=spec.requires_approval,
    )


@router.get("")
async def list_tools(
    _user: Annotated[str, Depends(current_user)], rt: Annotated[Runtime, Depends(runtime)]
) -> list[ToolOut]:
    return [_out(rt, spec) for spec in rt.tools.list()]
