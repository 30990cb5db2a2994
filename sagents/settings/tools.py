"""Settings of the tools runs may call: built-in ones, user modules, MCP servers.

A new setting about a tool call, a built-in tool (``sagents/tools/builtin/``)
or MCP (``sagents/tools/mcp/``) goes here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from sagents.settings.parsing import comma_or_json_list

BuiltinToolName = Literal[
    "execute_python",
    "list_files",
    "read_file",
    "write_file",
    "remember",
    "recall",
    "forget",
    "fetch_url",
]
"""Sage's built-in tools (``sagents/tools/builtin/``)."""
DEFAULT_BUILTIN_TOOLS: tuple[BuiltinToolName, ...] = (
    "execute_python",
    "list_files",
    "read_file",
    "write_file",
    "remember",
    "recall",
    "forget",
)
"""On unless the operator says otherwise; ``fetch_url`` reaches the network and is off."""


class ToolSettings(BaseModel):
    """Part of ``Settings``."""

    tool_timeout_s: float = Field(default=60.0, gt=0)
    tool_max_result_chars: int = Field(
        default=20_000, ge=1, description="Cap on a tool result's text (a note says it was cut)."
    )
    builtin_tools: Annotated[list[BuiltinToolName], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_BUILTIN_TOOLS),
        description="Built-in tools offered to runs, comma-separated or a JSON list "
        "(execute_python, list_files, read_file, write_file, remember, recall, forget, "
        "fetch_url); default: all but fetch_url. A request narrows them with builtin_tools.",
    )
    fetch_url_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts fetch_url may reach ('example.org', or '*.example.org' for its "
        "subdomains); none without this, even when fetch_url is on.",
    )
    fetch_url_max_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest response body fetch_url reads."
    )
    fetch_url_timeout_s: float = Field(
        default=15.0, gt=0, description="Longest one fetch_url call may take."
    )
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Python modules whose @tool functions are registered at start-up "
        "(SAGE_TOOLS=my_pkg.tools,other), besides the 'sage.tools' entry points.",
    )

    # MCP servers. A relative mcp_settings_path is resolved against the working
    # directory at start-up; a missing file means no configured servers.
    mcp_settings_path: Path | None = Field(
        default=Path("mcp_setting.json"),
        description="mcp_setting.json (Claude Desktop format); empty to load none.",
    )
    mcp_connect_timeout_s: float = Field(default=20.0, gt=0)
    mcp_call_timeout_s: float = Field(default=60.0, gt=0)
    mcp_startup_wait_s: float = Field(
        default=5.0, ge=0, description="How long start-up waits for MCP servers to connect."
    )
    mcp_max_result_bytes: int = Field(
        default=8 * 2**20,
        ge=64 * 1024,
        description="Cap on one message from an MCP server, checked before it is buffered "
        "whole; a larger answer fails that call only (legacy SSE: at most 1 MiB).",
    )
    mcp_tool_prefix: Literal["none", "server"] = Field(
        default="none",
        description='How MCP tools are named when a server entry gives no "prefix": '
        "none (the tool's own name) or server (<server>_<tool>), so servers offering the "
        "same tool names can coexist.",
    )
    allow_mcp_commands: bool = Field(
        default=False,
        description="Let admins register MCP servers that run a command on this host over "
        "the API (mcp_setting.json entries are always loaded).",
    )

    @field_validator("tools", "builtin_tools", "fetch_url_hosts", mode="before")
    @classmethod
    def _parse_tool_lists(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list."""
        return comma_or_json_list(value)

    @field_validator("mcp_settings_path", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value
