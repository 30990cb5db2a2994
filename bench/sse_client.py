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
    a real client does); without it only the deltas (to count their tokens)
    and the terminal event are decoded.

    The body is split into SSE frames from bytes as it arrives (each network
    read timestamps the deltas it completes), not line by line through
    httpx's text decoder: under 1,000 streams the client shares the machine
    with the servers it measures, so it is kept as cheap as a client can be,
    and Sage and the relay are read by the same code.
    """
    trace = ChatTrace(started=time.perf_counter())
    buffer = b""
    async with http.stream("POST", "/api/v1/chat", json=payload) as response:
        response.raise_for_status()
        trace.session_id = response.headers.get("x-session-id", "")
        async for chunk in response.aiter_bytes():
            now = time.perf_counter()
            # sse-starlette ends lines with CRLF; a CR left at the end of
            # the buffer meets its LF in the next read and is folded then.
            *frames, buffer = (buffer + chunk).replace(b"\r\n", b"\n").split(b"\n\n")
            for frame in frames:
                read_frame(trace, frame, now, parse)
    if buffer.strip():
        read_frame(trace, buffer, time.perf_counter(), parse)
    trace.ended = time.perf_counter()
    return trace


def read_frame(trace: ChatTrace, frame: bytes, now: float, parse: bool) -> None:
    kind = ""
    data = b""
    for line in frame.split(b"\n"):
        if line.startswith(b"event:"):
            kind = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            data = line[5:]
    if not kind:
        return  # a comment (keep-alive) or an id-only frame
    trace.types.append(kind)
    if kind == "message.delta":
        # A delta can carry several tokens (Sage joins what one read of the
        # model's stream brought); each token is timed by the delta that
        # delivered it.
        decoded = json.loads(data)
        trace.delta_times += [now] * len(decoded["delta"].split())
        if parse:
            trace.last = decoded
    elif parse or kind.startswith("run."):
        trace.last = json.loads(data)
