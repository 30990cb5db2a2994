"""The tools the scenarios call, shared by the in-process runs, the bench
server subprocess and the direct baseline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sagents.tools import ToolManager, ToolSpec, tool


def add_numbers(a: int, b: int) -> int:
    """The direct baseline calls this by hand; Sage calls it as the ``add`` tool."""
    return a + b


@tool(name="add")
async def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return add_numbers(a, b)


@dataclass
class SlowToolProbe:
    """Records what the slow tool did, so the cancel scenario can prove it stopped."""

    started: int = 0
    cancelled: int = 0
    finished: int = 0
    running: asyncio.Event = field(default_factory=asyncio.Event)


def slow_add_tool(probe: SlowToolProbe, seconds: float = 30.0) -> ToolSpec:
    """An ``add`` that takes ``seconds``: a cancel must interrupt it."""

    @tool(name="slow_add")
    async def slow_add(a: int, b: int) -> int:
        """Add two integers, slowly.

        Args:
            a: The first addend.
            b: The second addend.
        """
        probe.started += 1
        probe.running.set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            probe.cancelled += 1
            raise
        probe.finished += 1
        return a + b

    return slow_add


def add_tools() -> ToolManager:
    tools = ToolManager()
    tools.add(add)
    return tools
