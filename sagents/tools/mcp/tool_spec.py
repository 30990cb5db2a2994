"""One MCP tool as a ``ToolSpec``: its offered name, schema and call."""

from __future__ import annotations

from typing import Any, Literal

import mcp_types

from sagents.tools.call_scope import current_call
from sagents.tools.mcp.config import McpServerEntry
from sagents.tools.mcp.convert import (
    INVALID_NAME_CHARS,
    call_result,
    description,
    parameters,
    tool_name,
)
from sagents.tools.mcp.progress import progress_events
from sagents.tools.mcp.proxy import McpProxy
from sagents.tools.media import RichResult
from sagents.tools.spec import ToolSource, ToolSpec


def tool_prefix(
    server: str, entry: McpServerEntry | None, default: Literal["none", "server"]
) -> str:
    """What the server's tool names start with: its entry's ``prefix``, else
    the server's name when the default says so, else nothing."""
    if entry is not None and entry.prefix is not None:
        return entry.prefix
    if default == "server":
        return INVALID_NAME_CHARS.sub("_", server)
    return ""


def mcp_tool_spec(
    server: str,
    prefix: str,
    proxy: McpProxy,
    tool: mcp_types.Tool,
    timeout_s: float,
    *,
    requires_approval: bool = False,
) -> ToolSpec | str:
    """The spec offering ``tool`` as ``<prefix>_<name>``, or why it cannot be offered.

    The call goes to the server under the tool's own name, reports the
    server's progress as ``tool.progress`` events of the calling run, and
    returns the result's text with its media (``convert.call_result``).
    """
    name = tool_name(f"{prefix}_{tool.name}" if prefix else tool.name)
    schema = parameters(tool)
    if name is None:
        return "no usable characters in the name"
    if schema is None:
        return "its input schema is not an object"
    mcp_name = tool.name

    async def invoke(arguments: dict[str, Any]) -> RichResult:
        progress = progress_events(current_call())
        result = await proxy.call_tool(mcp_name, arguments, progress=progress)
        return call_result(server, mcp_name, result)

    try:
        return ToolSpec(
            name=name,
            description=description(tool),
            parameters=schema,
            source=ToolSource.MCP,
            invoke=invoke,
            timeout_s=timeout_s,
            origin=server,
            requires_approval=requires_approval,
        )
    except ValueError as error:
        return str(error)
