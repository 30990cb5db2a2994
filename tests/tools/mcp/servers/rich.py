"""An MCP server using more of the protocol than tools returning text: an
image result, progress notifications, resources (one fixed, one template,
one binary) and a prompt. Written with the SDK's MCPServer (FastMCP).

Run as ``python rich.py`` (stdio).
"""

from __future__ import annotations

import base64

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.resources.types import TextResource

# A 1x1 PNG: real image bytes, small enough to compare whole.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

server = MCPServer("rich")


@server.tool()
def picture() -> Image:
    """A tiny picture."""
    return Image(data=PIXEL, format="png")


@server.tool()
async def work(steps: int, ctx: Context) -> str:
    """Do ``steps`` steps, reporting progress after each."""
    for step in range(1, steps + 1):
        await anyio.sleep(0.3)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"did {steps} steps"


@server.tool()
async def note(name: str, text: str, ctx: Context) -> str:
    """Add a resource rich://notes/<name> and announce that the list changed."""
    server.add_resource(TextResource(uri=f"rich://notes/{name}", name=name, text=text))
    await ctx.notify_resources_changed()
    return f"noted {name}"


@server.resource("rich://notes", name="notes", description="The team's notes.")
def notes() -> str:
    return "Remember: the deploy freeze starts Friday."


@server.resource("rich://topics/{topic}", name="topic", description="Notes on one topic.")
def topic(topic: str) -> str:
    return f"All about {topic}."


@server.resource("rich://logo.png", name="logo", mime_type="image/png")
def logo() -> bytes:
    return PIXEL


@server.prompt(description="Ask for a code review in a given style.")
def review(code: str, style: str = "brief") -> str:
    return f"Please review this code ({style}):\n{code}"


if __name__ == "__main__":
    server.run()
