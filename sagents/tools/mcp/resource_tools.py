"""``mcp_read_resource`` and ``mcp_get_prompt``: a server's resources and
prompts, for the model.

MCP servers offer more than tools: resources (files, records, pages, read by
URI) and prompts (message templates with arguments). Sage offers the model
two tools over them, registered while at least one connected server has
any (``McpManager``). Their descriptions list what is there (cut at
``MAX_LISTING_CHARS``); each call may only reach the servers the calling
run can use (``ServerAccess``): with no tool allow-list, every enabled
server; with one, the servers one of whose tools it allows. The servers'
answers are untrusted like any tool result: bounded by the transport's
message cap and the tool-result cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sagents.tools.call_scope import current_call
from sagents.tools.manager import ToolManager
from sagents.tools.mcp.catalog import Catalog
from sagents.tools.mcp.convert import prompt_result, resource_result
from sagents.tools.mcp.proxy import McpProxy
from sagents.tools.media import RichResult
from sagents.tools.spec import ToolArgumentError, ToolSource, ToolSpec

READ_RESOURCE = "mcp_read_resource"
GET_PROMPT = "mcp_get_prompt"
MAX_LISTING_CHARS = 3000

ServerAccess = Callable[[], Mapping[str, McpProxy]]
"""The servers the current call may use, by name."""


@dataclass(frozen=True, slots=True)
class EnabledServer:
    name: str
    proxy: McpProxy
    tools: frozenset[str]
    """The tool names it holds in the ToolManager."""


class ResourceTools:
    """Keeps the two tools registered while some enabled server has resources
    (or prompts), with descriptions listing them; ``McpManager`` calls
    ``sync`` whenever a server's catalog or state changes."""

    def __init__(
        self, tools: ToolManager, servers: Callable[[], list[EnabledServer]], timeout_s: float
    ) -> None:
        self._tools = tools
        self._servers = servers
        self._timeout_s = timeout_s
        self._mine: dict[str, ToolSpec] = {}

    def sync(self) -> None:
        catalogs = {s.name: s.proxy.catalog for s in self._servers()}
        resources = {n: c for n, c in catalogs.items() if c.resources or c.templates}
        prompts = {n: c for n, c in catalogs.items() if c.prompts}
        timeout = self._timeout_s
        read = read_resource_tool(self.usable, resources, timeout) if resources else None
        self._set(READ_RESOURCE, read)
        self._set(GET_PROMPT, get_prompt_tool(self.usable, prompts, timeout) if prompts else None)

    def clear(self) -> None:
        """Withdraw both tools (the manager is closing)."""
        for name in list(self._mine):
            self._set(name, None)

    def usable(self) -> dict[str, McpProxy]:
        """The servers the tool call running now may use.

        A run can use a server when it sees one of the server's tools, or,
        without an allow-list, a server that offers no tools at all. A call
        made outside a run may use every enabled server.
        """
        scope = current_call()
        visible = None if scope is None else set(scope.tools.names)
        open_run = scope is None or scope.tools.allowed is None
        return {
            server.name: server.proxy
            for server in self._servers()
            if visible is None or visible & server.tools or (open_run and not server.proxy.tools)
        }

    def _set(self, name: str, spec: ToolSpec | None) -> None:
        mine = self._mine.get(name)
        current = [s for s in [self._tools.get(name), *self._tools.shadowed(name)] if s]
        local = next((s for s in current if s.source is ToolSource.LOCAL), None)
        if local is not None and local is not mine:
            return  # an application's own tool of that name: leave it
        if spec is None:
            if mine is not None:
                self._tools.remove(name, ToolSource.LOCAL)
                del self._mine[name]
            return
        if mine is not None and mine.description == spec.description:
            return  # nothing a run would see differently
        self._mine[name] = self._tools.add(spec, replace=True)


def read_resource_tool(
    access: ServerAccess, catalogs: Mapping[str, Catalog], timeout_s: float
) -> ToolSpec:
    lines = []
    for server, catalog in sorted(catalogs.items()):
        for resource in catalog.resources:
            about = " — ".join(x for x in (resource.name, resource.description) if x)
            lines.append(f"- {server}: {resource.uri}" + (f" ({about})" if about else ""))
        for template in catalog.templates:
            about = " — ".join(x for x in (template.name, template.description) if x)
            line = f"- {server}: {template.uri_template} (a template"
            lines.append(line + (f": {about})" if about else ")"))

    async def invoke(arguments: dict[str, Any]) -> RichResult:
        server = _text(arguments, "server")
        uri = _text(arguments, "uri")
        proxy = _server(access, server)
        return resource_result(await proxy.read_resource(uri))

    return ToolSpec(
        name=READ_RESOURCE,
        description=(
            "Read a resource (a file, record or page) an MCP server offers, by its URI. "
            "Fill a template's {placeholders} to make a URI. Available:\n" + _listing(lines)
        ),
        parameters={
            "type": "object",
            "properties": {
                "server": {"type": "string", "description": "The MCP server's name."},
                "uri": {"type": "string", "description": "The resource's URI."},
            },
            "required": ["server", "uri"],
            "additionalProperties": False,
        },
        source=ToolSource.LOCAL,
        invoke=invoke,
        timeout_s=timeout_s,
    )


def get_prompt_tool(
    access: ServerAccess, catalogs: Mapping[str, Catalog], timeout_s: float
) -> ToolSpec:
    lines = []
    for server, catalog in sorted(catalogs.items()):
        for prompt in catalog.prompts:
            arguments = ", ".join(
                a.name + ("" if a.required else "?") for a in (prompt.arguments or [])
            )
            about = f" — {prompt.description}" if prompt.description else ""
            lines.append(f"- {server}: {prompt.name}({arguments}){about}")

    async def invoke(arguments: dict[str, Any]) -> RichResult:
        server = _text(arguments, "server")
        name = _text(arguments, "name")
        values = arguments.get("arguments") or {}
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise ToolArgumentError("'arguments' must be an object of strings")
        proxy = _server(access, server)
        return prompt_result(await proxy.get_prompt(name, values))

    return ToolSpec(
        name=GET_PROMPT,
        description=(
            "Get a prompt (prepared instructions or messages) an MCP server offers, filled "
            "with its arguments (? marks optional ones). Available:\n" + _listing(lines)
        ),
        parameters={
            "type": "object",
            "properties": {
                "server": {"type": "string", "description": "The MCP server's name."},
                "name": {"type": "string", "description": "The prompt's name."},
                "arguments": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "The prompt's arguments, as strings.",
                },
            },
            "required": ["server", "name"],
            "additionalProperties": False,
        },
        source=ToolSource.LOCAL,
        invoke=invoke,
        timeout_s=timeout_s,
    )


def _listing(lines: list[str]) -> str:
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if used + len(line) > MAX_LISTING_CHARS:
            out.append(f"(and {len(lines) - index} more)")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def _text(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value:
        raise ToolArgumentError(f"'{key}' must be a non-empty string")
    return value


def _server(access: ServerAccess, name: str) -> McpProxy:
    usable = access()
    proxy = usable.get(name)
    if proxy is None:
        names = ", ".join(sorted(usable)) or "(none)"
        raise ToolArgumentError(
            f"no MCP server {name!r} is available to this run; servers: {names}"
        )
    return proxy
