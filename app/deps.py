"""FastAPI dependencies that hand routes the runtime's services."""

from __future__ import annotations

from fastapi import Request

from sagents.runtime import Runtime
from sagents.sagent import SAgent


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def sagent(request: Request) -> SAgent:
    agent: SAgent = request.app.state.sagent
    return agent
