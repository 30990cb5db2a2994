"""A tiny MCP server for the tests, written with the SDK's MCPServer (FastMCP).

Run as ``python demo.py stdio`` or ``python demo.py sse|streamable-http PORT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("demo")
_rendezvous: dict[str, object] = {"arrived": 0, "event": None}


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return f"echo: {text}"


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ToolError(message)


@server.tool()
async def slow(marker: str, seconds: float = 10.0) -> str:
    """Sleep; writes 'cancelled' to the marker file if the call is cancelled."""
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        # Synchronous on purpose: an await here would be cancelled at once.
        Path(marker).write_text("cancelled")  # noqa: ASYNC240
        raise
    return "slept"


@server.tool()
async def rendezvous(text: str, expected: int) -> str:
    """Return only once ``expected`` calls are in flight at the same time (or after 30 s)."""
    if _rendezvous["event"] is None:
        _rendezvous["event"] = anyio.Event()
    event = _rendezvous["event"]
    assert isinstance(event, anyio.Event)
    arrived = int(str(_rendezvous["arrived"])) + 1
    _rendezvous["arrived"] = arrived
    if arrived >= expected:
        event.set()
    with anyio.move_on_after(30):
        await event.wait()
    return f"echo: {text} ({_rendezvous['arrived']} together)"


@server.tool()
def getenv(name: str) -> str:
    """The server's environment variable ``name`` ("(unset)" if it has none)."""
    return os.environ.get(name, "(unset)")


@server.tool()
def big(size: int, char: str = "x") -> str:
    """A text of ``size`` characters (to test result caps)."""
    return char * size


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Add a tool called ``name`` and announce that the tool list changed."""

    def extra() -> str:
        return f"{name} says hi"

    server.add_tool(extra, name=name, description=f"Added at run time: {name}")
    await ctx.notify_tools_changed()
    return f"added {name}"


if __name__ == "__main__":
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run()
    else:
        server.run(transport, host="127.0.0.1", port=int(sys.argv[2]))  # type: ignore[call-overload]
