"""One MCP server as ``McpManager`` holds it: its entry and proxy, the tool
names it holds in the ToolManager, and the report made of them.

Kept apart from the manager's operations (start, register, enable…) so the
rule for who gets a tool name two servers offer reads in one place
(``claim_tools``): the first to connect keeps it, and the clash is recorded
on the one that lost (``shadowed``), from which the winner's ``shadows``
are derived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import mcp_types

from sagents.tools.manager import ToolManager
from sagents.tools.mcp.config import McpServerEntry
from sagents.tools.mcp.health import McpStatus
from sagents.tools.mcp.info import McpServerInfo, ServerOrigin, ToolClash
from sagents.tools.mcp.proxy import McpProxy
from sagents.tools.spec import ToolSource, ToolSpec


@dataclass
class ManagedServer:
    name: str
    origin: ServerOrigin
    entry: McpServerEntry | None
    disabled: bool = False
    config_error: str | None = None
    proxy: McpProxy | None = None
    registered: dict[str, ToolSpec] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    shadowed: dict[str, str] = field(default_factory=dict)
    """Offered name → the server that holds it."""

    @property
    def enabled(self) -> bool:
        return self.proxy is not None and not self.disabled


@dataclass
class ToolClaims:
    """What a server's current tools come to: the specs it should hold, and why
    the others are not offered."""

    wanted: dict[str, ToolSpec] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    shadowed: dict[str, str] = field(default_factory=dict)


def claim_tools(
    server: ManagedServer,
    specs: Iterable[tuple[mcp_types.Tool, ToolSpec | str]],
    tools: ToolManager,
) -> ToolClaims:
    """Sort ``server``'s tools (each with its spec, or why it has none) into
    those it may hold and those it may not: a name another of its tools
    already took, or one another MCP server holds in ``tools``."""
    claims = ToolClaims()
    for tool, spec in specs:
        if isinstance(spec, str):
            claims.skipped.append(f"{tool.name}: {spec}")
            continue
        if spec.name in claims.wanted:
            claims.skipped.append(f"{tool.name}: another of its tools is also named {spec.name!r}")
            continue
        existing = tools.get(spec.name)
        if (
            existing is not None
            and existing.source is ToolSource.MCP
            and existing.origin != server.name
            and existing.origin is not None
        ):
            claims.skipped.append(
                f"{tool.name}: MCP server {existing.origin!r} already offers {spec.name!r}"
            )
            claims.shadowed[spec.name] = existing.origin
            continue
        claims.wanted[spec.name] = spec
    return claims


def server_info(
    server: ManagedServer, servers: Iterable[ManagedServer], prefix: str
) -> McpServerInfo:
    """The report of ``server``; ``servers`` (all of them) say what it shadows."""
    proxy = server.proxy
    if server.config_error is not None or proxy is None:
        status, error = McpStatus.ERROR, server.config_error
    elif server.disabled:
        status, error = McpStatus.DISABLED, None
    else:
        status, error = proxy.status, proxy.last_error
    return McpServerInfo(
        name=server.name,
        origin=server.origin,
        status=status,
        transport=server.entry.kind if server.entry else None,
        disabled=server.disabled,
        tools=sorted(server.registered),
        last_error=error,
        skipped_tools=list(server.skipped),
        entry=server.entry,
        prefix=prefix,
        shadowed=[ToolClash(tool, by) for tool, by in sorted(server.shadowed.items())],
        shadows=sorted(
            (
                ToolClash(tool, other.name)
                for other in servers
                for tool, by in other.shadowed.items()
                if by == server.name
            ),
            key=lambda clash: (clash.tool, clash.server),
        ),
    )
