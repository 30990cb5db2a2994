"""FastAPI dependencies that hand routes the runtime's services.

They are ``async def`` although they never await: FastAPI runs a plain
``def`` dependency in a worker thread, a thread hop per dependency per
request for what is an attribute read.
"""

from __future__ import annotations

from fastapi import Request

from sagents.runtime import Runtime
from sagents.sagent import SAgent


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def sagent(request: Request) -> SAgent:
    agent: SAgent = request.app.state.sagent
    return agent
