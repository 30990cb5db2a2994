"""The HTTP side of the scenarios: one chat over SSE, timed event by event."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2


@dataclass
class ChatTrace:
    """What one ``POST /api/v1/chat`` produced, as the client saw it."""

    started: float
    types: list[str] = field(default_factory=list)
    delta_times: list[float] = field(default_factory=list)
    """When each answer token arrived (the bench mock's tokens are words)."""
    last: dict[str, Any] = field(default_factory=dict)
    ended: float = 0.0
    session_id: str = ""
    """Sage's ``X-Session-Id`` (empty from the relay, which keeps no sessions)."""

    @property
    def terminal(self) -> str:
        return self.types[-1] if self.types else ""


async def chat(
    http: httpx2.AsyncClient, payload: dict[str, Any], *, parse: bool = True
) -> ChatTrace:
    """Read every event of one chat. ``parse`` decodes each event's JSON (what
    a real client does); without it only the terminal event is decoded.

    The SSE lines are read as plainly as the lean baseline reads the mock's
    (``aiter_lines``, ``event:``/``data:`` prefixes), so under load the two
    clients cost this process the same per event and the comparison is of
    the servers, not of two client libraries.
    """
    trace = ChatTrace(started=time.perf_counter())
    kind = ""
    async with http.stream("POST", "/api/v1/chat", json=payload) as response:
        response.raise_for_status()
        trace.session_id = response.headers.get("x-session-id", "")
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
                trace.types.append(kind)
            elif line.startswith("data:"):
                if kind == "message.delta":
                    # A delta can carry several tokens (Sage joins what one
                    # read of the model's stream brought); each token is
                    # timed by the delta that delivered it.
                    now = time.perf_counter()
                    data = json.loads(line[5:])
                    trace.delta_times += [now] * len(data["delta"].split())
                    if parse:
                        trace.last = data
                elif parse or kind.startswith("run."):
                    trace.last = json.loads(line[5:])
    trace.ended = time.perf_counter()
    return trace
