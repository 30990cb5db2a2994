"""``GET /api/v1/status``: each part of the running service in one answer,
for ``sage status`` (one line per part) and monitoring.

Unlike ``/healthz`` (is the process serving?), it asks each part: the store
answers a query, the MCP servers' states, the skills the caller sees and
whether the sandbox works, whether memory is on. Nothing here calls the
LLM (``sage doctor`` and ``sage verify`` do): a status poll must not cost
tokens. Runs are the caller's own, so one user learns nothing of another's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

import sagents
from app.deps import runtime
from app.identity import current_user
from sagents.runtime import Runtime
from sagents.store.records import SessionStatus

router = APIRouter(prefix="/api/v1/status", tags=["health"])

ACTIVE_SCAN = 200
"""Newest sessions looked at for running ones: a running session was
updated when its run started, so it is among the newest."""


class Part(BaseModel):
    ok: bool
    detail: str


class StatusOut(BaseModel):
    version: str
    active_runs: int = Field(description="The caller's sessions with a run in progress.")
    store: Part
    registry: Part
    llm: Part
    mcp: Part
    skills: Part
    memory: Part


def _store_kind(rt: Runtime) -> str:
    return type(rt.store).__name__.removesuffix("Store").lower() or "store"


async def _store(rt: Runtime, user: str) -> tuple[Part, int]:
    try:
        sessions, _ = await rt.store.list_sessions(user, limit=ACTIVE_SCAN)
    except Exception as exc:  # the store's failure is what this reports
        return Part(ok=False, detail=f"{_store_kind(rt)}: {type(exc).__name__}: {exc}"), 0
    active = sum(1 for s in sessions if s.status == SessionStatus.RUNNING)
    return Part(ok=True, detail=f"{_store_kind(rt)}: answering"), active


def _mcp(rt: Runtime) -> Part:
    if rt.mcp is None:
        return Part(ok=True, detail="off")
    servers = rt.mcp.list()
    broken = [s.name for s in servers if s.status.value == "error"]
    connected = sum(1 for s in servers if s.status.value == "connected")
    detail = f"{connected} of {len(servers)} server(s) connected"
    if broken:
        detail += f"; failing: {', '.join(broken)} (sage mcp list)"
    return Part(ok=not broken, detail=detail)


async def _skills(rt: Runtime, user: str) -> Part:
    if rt.skills is None:
        return Part(ok=True, detail="off")
    view = await rt.skills.for_user(user)
    sandbox = await rt.skills.sandbox.probe()
    state = "sandbox works" if sandbox.available else f"sandbox unavailable: {sandbox.detail}"
    return Part(ok=sandbox.available, detail=f"{len(list(view))} skill(s); {state}")


def _learned(rt: Runtime) -> str:
    """What the LLM client learned while serving (no call made for it): the
    structured-output mode and refused parameters of each model used."""
    parts = []
    for model, known in rt.llm.capabilities.report().items():
        text = f"{model}: structured output {known['structured_output']}"
        if known["refused"]:
            text += f", refused {', '.join(sorted(known['refused']))}"
        parts.append(text)
    return "; ".join(parts)


@router.get("")
async def status(
    user: Annotated[str, Depends(current_user)], rt: Annotated[Runtime, Depends(runtime)]
) -> StatusOut:
    store, active = await _store(rt, user)
    settings = rt.settings
    model = settings.llm_model or "(none)"
    learned = _learned(rt)
    where = f"{model} at {settings.llm_base_url or 'api.openai.com'}"
    llm = (
        Part(ok=True, detail=f"{where}; learned: {learned}" if learned else where)
        if settings.llm_configured
        else Part(ok=False, detail="not configured: set SAGE_LLM_BASE_URL and SAGE_LLM_MODEL")
    )
    memory_state: Literal["on", "off"] = "on" if rt.memory is not None else "off"
    extract = "extraction on" if settings.memory_extract else "extraction off"
    return StatusOut(
        version=sagents.__version__,
        active_runs=active,
        store=store,
        registry=Part(ok=True, detail=type(rt.runs).__name__),
        llm=llm,
        mcp=_mcp(rt),
        skills=await _skills(rt, user),
        memory=Part(ok=True, detail=f"{memory_state}; {extract}" if rt.memory else "off"),
    )
