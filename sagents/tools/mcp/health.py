"""How an MCP server connection is doing: its status, the error callers get
when it is down, how long to wait before trying again, and one-line error
descriptions. Kept apart from the proxy so the manager and the API can use
them without the connection machinery."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import anyio
import httpx2
from mcp.shared.exceptions import MCPError

CONNECTION_ERRORS = (
    OSError,
    EOFError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    httpx2.TransportError,
)


class McpStatus(StrEnum):
    IDLE = "idle"
    """Not connected yet, or closed."""
    CONNECTING = "connecting"
    CONNECTED = "connected"
    ERROR = "error"
    DISABLED = "disabled"


class McpUnavailable(RuntimeError):
    """The server cannot be reached right now; the message says why and when
    it will be tried again."""


@dataclass(frozen=True)
class Backoff:
    """Delay before the next connection attempt after ``failures`` failed ones."""

    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** (failures - 1)))


def describe_error(error: BaseException) -> str:
    """One line for an error, unwrapping task-group exception groups."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe_error(inner) for inner in error.exceptions)
    if isinstance(error, MCPError):
        return error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
