"""Tools the agents can call: local functions now, MCP servers next.

Every source produces ``ToolSpec``s; the ``ToolManager`` holds them and settles
name clashes; each session talks to its own ``ToolProxy``.
"""

from sagents.tools.decorator import tool
from sagents.tools.manager import ToolManager
from sagents.tools.outcome import ToolOutcome
from sagents.tools.proxy import ToolProxy
from sagents.tools.spec import ToolArgumentError, ToolSource, ToolSpec

__all__ = [
    "ToolArgumentError",
    "ToolManager",
    "ToolOutcome",
    "ToolProxy",
    "ToolSource",
    "ToolSpec",
    "tool",
]
