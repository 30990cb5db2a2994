"""What one MCP server offers: its tools, resources, resource templates and prompts.

Listed page by page with a bound on pages and on items (a server could page
forever), under one timeout per list. Tools are what a connection needs;
resources and prompts are listed only when the server declares the
capability, and a failure there is logged, never a failed connection: a
server whose tools work is worth having even if its resources list breaks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import anyio
import mcp_types
from mcp import Client

_log = logging.getLogger(__name__)

MAX_PAGES = 100
MAX_ITEMS = 10_000


@dataclass(frozen=True)
class Catalog:
    """A snapshot of what a server offers, kept while it is disconnected."""

    tools: tuple[mcp_types.Tool, ...] = ()
    resources: tuple[mcp_types.Resource, ...] = ()
    templates: tuple[mcp_types.ResourceTemplate, ...] = ()
    prompts: tuple[mcp_types.Prompt, ...] = ()
    has_resources: bool = False
    """The server declared the ``resources`` capability."""
    has_prompts: bool = False


async def list_tools(client: Client, timeout_s: float) -> tuple[mcp_types.Tool, ...]:
    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        result = await client.list_tools(cursor=cursor)
        return list(result.tools), result.next_cursor

    return tuple(await _all_pages(page, timeout_s))


async def list_resources(
    client: Client, timeout_s: float
) -> tuple[tuple[mcp_types.Resource, ...], tuple[mcp_types.ResourceTemplate, ...]]:
    async def resources(cursor: str | None) -> tuple[list[Any], str | None]:
        result = await client.list_resources(cursor=cursor)
        return list(result.resources), result.next_cursor

    async def templates(cursor: str | None) -> tuple[list[Any], str | None]:
        result = await client.list_resource_templates(cursor=cursor)
        return list(result.resource_templates), result.next_cursor

    return (
        tuple(await _all_pages(resources, timeout_s)),
        tuple(await _all_pages(templates, timeout_s)),
    )


async def list_prompts(client: Client, timeout_s: float) -> tuple[mcp_types.Prompt, ...]:
    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        result = await client.list_prompts(cursor=cursor)
        return list(result.prompts), result.next_cursor

    return tuple(await _all_pages(page, timeout_s))


async def list_extras(
    client: Client,
    catalog: Catalog,
    timeout_s: float,
    server: str,
    *,
    only: Literal["resources", "prompts"] | None = None,
) -> Catalog:
    """``catalog`` with the server's resources and prompts.

    Without ``only``, best effort: a failure is logged and that part left
    as it was. With ``only``, that one list, and its failure is raised.
    """
    capabilities = client.server_capabilities
    updated = replace(
        catalog,
        has_resources=capabilities.resources is not None,
        has_prompts=capabilities.prompts is not None,
    )
    if updated.has_resources and only in (None, "resources"):
        try:
            resources, templates = await list_resources(client, timeout_s)
            updated = replace(updated, resources=resources, templates=templates)
        except Exception as error:
            if only is not None:
                raise
            _log.warning("MCP server %r: listing resources failed: %s", server, error)
    if updated.has_prompts and only in (None, "prompts"):
        try:
            updated = replace(updated, prompts=await list_prompts(client, timeout_s))
        except Exception as error:
            if only is not None:
                raise
            _log.warning("MCP server %r: listing prompts failed: %s", server, error)
    return updated


async def _all_pages(
    fetch: Callable[[str | None], Awaitable[tuple[list[Any], str | None]]], timeout_s: float
) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    with anyio.fail_after(timeout_s):
        for _ in range(MAX_PAGES):
            page, cursor = await fetch(cursor)
            items.extend(page)
            if not cursor or len(items) >= MAX_ITEMS:
                break
    return items[:MAX_ITEMS]
