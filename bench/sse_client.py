"""The HTTP side of the scenarios: one chat over SSE, timed event by event."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import aconnect_sse


@dataclass
class ChatTrace:
    """What one ``POST /api/v1/chat`` produced, as the client saw it."""

    started: float
    types: list[str] = field(default_factory=list)
    delta_times: list[float] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    ended: float = 0.0

    @property
    def terminal(self) -> str:
        return self.types[-1] if self.types else ""


async def chat(
    http: httpx.AsyncClient, payload: dict[str, Any], *, parse: bool = True
) -> ChatTrace:
    """Read every event of one chat. ``parse`` decodes each event's JSON (what
    a real client does); without it only the terminal event is decoded."""
    trace = ChatTrace(started=time.perf_counter())
    async with aconnect_sse(http, "POST", "/api/v1/chat", json=payload) as source:
        source.response.raise_for_status()
        async for sse in source.aiter_sse():
            if not sse.event or sse.event == "message":
                continue
            trace.types.append(sse.event)
            if sse.event == "message.delta":
                trace.delta_times.append(time.perf_counter())
            if parse or sse.event.startswith("run."):
                trace.last = json.loads(sse.data)
    trace.ended = time.perf_counter()
    return trace
