"""Liveness and configuration at a glance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.deps import runtime
from sagents.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """Always 200 while the process serves; ``llm_configured`` tells whether
    chats can succeed."""
    return {"status": "ok", "llm_configured": rt.settings.llm_configured}
