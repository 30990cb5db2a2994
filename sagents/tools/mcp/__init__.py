"""MCP servers as tool sources, on the official ``mcp`` SDK.

``config`` reads ``mcp_setting.json`` (Claude Desktop format); ``McpProxy``
keeps one session per server, owned by one task; ``McpManager`` holds every
server and registers their tools into the Runtime's ToolManager.
"""

from sagents.tools.mcp.config import (
    McpServerEntry,
    McpServerRegistration,
    Transport,
    load_mcp_settings,
    parse_mcp_settings,
)
from sagents.tools.mcp.convert import McpToolError
from sagents.tools.mcp.health import Backoff, McpStatus, McpUnavailable
from sagents.tools.mcp.info import (
    McpServerConflict,
    McpServerInfo,
    McpServerNotFound,
    ServerOrigin,
    ToolClash,
)
from sagents.tools.mcp.manager import McpManager
from sagents.tools.mcp.proxy import McpProxy

__all__ = [
    "Backoff",
    "McpManager",
    "McpProxy",
    "McpServerConflict",
    "McpServerEntry",
    "McpServerInfo",
    "McpServerNotFound",
    "McpServerRegistration",
    "McpStatus",
    "McpToolError",
    "McpUnavailable",
    "ServerOrigin",
    "ToolClash",
    "Transport",
    "load_mcp_settings",
    "parse_mcp_settings",
]
