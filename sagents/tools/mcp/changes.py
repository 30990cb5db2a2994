"""Keeping a server's catalog current: what it announces as changed.

A server says its tools, resources or prompts changed with a
``notifications/*/list_changed`` message (before 2026-07-28) or an event on
a ``subscriptions/listen`` stream (2026-07-28). Either only marks the kind
as changed; the proxy's refresh loop lists it again outside the SDK's
receive loop (a request awaited inside it would wait for itself).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import mcp_types
from mcp import Client
from mcp.shared.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from sagents.tools.mcp.catalog import Catalog, list_prompts, list_resources, list_tools

_log = logging.getLogger(__name__)

_NOTIFICATIONS: dict[type, str] = {
    mcp_types.ToolListChangedNotification: "tools",
    mcp_types.ResourceListChangedNotification: "resources",
    mcp_types.PromptListChangedNotification: "prompts",
}
_EVENTS: dict[type, str] = {
    ToolsListChanged: "tools",
    ResourcesListChanged: "resources",
    PromptsListChanged: "prompts",
}


class Changes:
    """The kinds announced as changed and not listed again yet."""

    def __init__(self) -> None:
        self._wanted = asyncio.Event()
        self._kinds: set[str] = set()

    def note(self, kind: str) -> None:
        self._kinds.add(kind)
        self._wanted.set()

    def note_message(self, message: object) -> bool:
        """Note a ``list_changed`` notification; whether it was one."""
        kind = _NOTIFICATIONS.get(type(message))
        if kind is not None:
            self.note(kind)
        return kind is not None

    async def next(self) -> set[str]:
        """Wait until something changed; the kinds, now cleared."""
        await self._wanted.wait()
        self._wanted.clear()
        kinds, self._kinds = self._kinds, set()
        return kinds


async def listen(client: Client, changes: Changes, server: str) -> None:
    """Follow a 2026-07-28 server's listen stream, for what it announces."""
    capabilities = client.server_capabilities
    tools = _announces(capabilities.tools)
    resources = _announces(capabilities.resources)
    prompts = _announces(capabilities.prompts)
    if (
        not (tools or resources or prompts)
        or client.protocol_version not in MODERN_PROTOCOL_VERSIONS
    ):
        return
    try:
        async with client.listen(
            tools_list_changed=tools,
            resources_list_changed=resources,
            prompts_list_changed=prompts,
        ) as subscription:
            async for event in subscription:
                kind = _EVENTS.get(type(event))
                if kind is not None:
                    changes.note(kind)
    except Exception as error:
        _log.debug("MCP server %r: change stream ended: %s", server, error)


async def relist(client: Client, catalog: Catalog, kinds: set[str], timeout_s: float) -> Catalog:
    """``catalog`` with the changed kinds listed again."""
    if "tools" in kinds:
        catalog = replace(catalog, tools=await list_tools(client, timeout_s))
    if "resources" in kinds:
        resources, templates = await list_resources(client, timeout_s)
        catalog = replace(catalog, resources=resources, templates=templates)
    if "prompts" in kinds:
        catalog = replace(catalog, prompts=await list_prompts(client, timeout_s))
    return catalog


def _announces(capability: Any) -> bool:
    return capability is not None and bool(getattr(capability, "list_changed", False))
