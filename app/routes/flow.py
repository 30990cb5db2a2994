"""``GET /api/v1/flow``: the default flow, as the executor runs it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import sagent
from app.identity import current_user
from app.schemas import FlowOut
from sagents.flow.mermaid import to_mermaid
from sagents.sagent import SAgent

router = APIRouter(prefix="/api/v1", tags=["flow"])


@router.get("/flow")
async def get_flow(
    _: Annotated[str, Depends(current_user)], agent: Annotated[SAgent, Depends(sagent)]
) -> FlowOut:
    """The graph (JSON, the same object the executor walks) and its Mermaid rendering."""
    flow = agent.flow
    return FlowOut(
        name=flow.name, graph=flow.model_dump(mode="json", by_alias=True), mermaid=to_mermaid(flow)
    )
