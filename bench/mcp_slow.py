"""An MCP server (stdio) with one slow tool, for the cancel scenario.

``python -m bench.mcp_slow LOG`` serves ``slow_add_mcp(a, b)``, which sleeps
30 s before answering. It appends ``started``, then ``cancelled`` or
``finished``, to the LOG file, one line per event: the server is another
process, so this file is how the scenario proves a cancel reached the tool
on the server and stopped it there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp.server.mcpserver import MCPServer

SECONDS = 30.0


def build(log: Path) -> MCPServer:
    server = MCPServer("bench-slow")

    def note(line: str) -> None:
        # Synchronous on purpose: in the cancelled branch an await would be
        # cancelled at once, and the line must land before the handler ends.
        with log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    @server.tool()
    async def slow_add_mcp(a: int, b: int) -> int:
        """Add two integers, very slowly (for cancel tests)."""
        note("started")
        try:
            await anyio.sleep(SECONDS)
        except anyio.get_cancelled_exc_class():
            note("cancelled")
            raise
        note("finished")
        return a + b

    return server


def tally(log: Path) -> dict[str, int]:
    """How many calls started, were cancelled and finished, from the log."""
    lines = log.read_text(encoding="utf-8").split() if log.exists() else []
    return {kind: lines.count(kind) for kind in ("started", "cancelled", "finished")}


if __name__ == "__main__":
    build(Path(sys.argv[1])).run("stdio")
