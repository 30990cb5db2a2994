"""An MCP server whose tool asks the person for input (elicitation), for the
tests of ``input.requested``. Run as ``python ask.py`` (stdio).

Written with a resolver (``Resolve`` returning ``Elicit``), the SDK's way
that works on every protocol version: a mid-call request on older ones, an
``InputRequiredResult`` and a retry on the current one."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from pydantic import BaseModel

server = MCPServer("ask")


class Amount(BaseModel):
    amount: int


def how_much(to: str) -> Elicit[Amount]:
    return Elicit(f"How much should go to {to}?", Amount)


@server.tool()
async def transfer(to: str, answer: Annotated[ElicitationResult[Amount], Resolve(how_much)]) -> str:
    """Transfer money to someone; asks how much."""
    if isinstance(answer, AcceptedElicitation):
        return f"sent {answer.data.amount} to {to}"
    return f"nothing sent ({answer.action})"


if __name__ == "__main__":
    server.run()
