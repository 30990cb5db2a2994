"""What the MCP manager reports about a server, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sagents.tools.mcp.config import McpServerEntry, Transport
from sagents.tools.mcp.health import McpStatus


class ServerOrigin(StrEnum):
    FILE = "file"
    """From mcp_setting.json; edit the file to change or remove it."""
    API = "api"
    """Registered over HTTP; persisted in the data directory."""


class McpServerNotFound(LookupError):
    pass


class McpServerConflict(ValueError):
    """The request does not fit the server's state (exists, read-only, disabled...)."""


@dataclass(frozen=True)
class ToolClash:
    """One tool name two servers offer: ``tool`` as offered to the model, and
    the other server (the one holding it, or the one it is kept from)."""

    tool: str
    server: str


@dataclass(frozen=True)
class McpServerInfo:
    """A snapshot of one server for the API and the CLI."""

    name: str
    origin: ServerOrigin
    status: McpStatus
    transport: Transport | None
    disabled: bool
    tools: list[str]
    last_error: str | None
    skipped_tools: list[str]
    entry: McpServerEntry | None
    prefix: str = ""
    """What its tool names start with (before ``_``); '' for none."""
    shadowed: list[ToolClash] = field(default_factory=list)
    """Its tools not offered because another server holds the name."""
    shadows: list[ToolClash] = field(default_factory=list)
    """Names it holds that another server offers too (and does not get)."""

    @property
    def notice(self) -> str | None:
        """The clash in one sentence, for people; None when there is none."""
        if not self.shadowed:
            return None
        by: dict[str, list[str]] = {}
        for clash in self.shadowed:
            by.setdefault(clash.server, []).append(clash.tool)
        parts = [f"{', '.join(tools)} (held by {server!r})" for server, tools in by.items()]
        return (
            f"{len(self.shadowed)} tool(s) not offered, their names are taken: "
            f'{"; ".join(parts)}. Give one of the servers a "prefix".'
        )
