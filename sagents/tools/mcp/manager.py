"""McpManager: every configured MCP server, and their tools in the ToolManager.

Servers come from two places: the user's ``mcp_setting.json`` (read-only to
Sage) and registrations made over HTTP (persisted in the data directory).
Each valid entry gets an ``McpProxy``; whenever a proxy's tool list changes
(connect, ``tools/list_changed``, refresh) its tools are re-registered into
the Runtime's ToolManager with source MCP, so running sessions see the change.

Start-up never waits long: all servers connect concurrently and ``start``
returns after ``mcp_startup_wait_s`` at most, the slow ones finishing in the
background. A broken entry or a server that fails is reported (status,
``last_error``), never fatal.

Tool names: a server's tools are offered as ``<prefix>_<tool>`` when it has
a prefix (its entry's ``prefix``, else the server's name when
``SAGE_MCP_TOOL_PREFIX=server``), else under their own names. Two servers
offering one name cannot both have it: the first to connect keeps it, and
the clash is reported on both sides (``shadowed`` on the one that lost the
name, naming the winner, ``shadows`` on the winner), never a silent 0.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from pathlib import Path
from typing import Any, Literal

from sagents.settings import Settings
from sagents.tools.manager import ToolManager
from sagents.tools.mcp.catalog import Catalog
from sagents.tools.mcp.config import McpServerEntry, load_mcp_settings
from sagents.tools.mcp.health import McpUnavailable
from sagents.tools.mcp.info import (
    McpServerConflict,
    McpServerInfo,
    McpServerNotFound,
    ServerOrigin,
)
from sagents.tools.mcp.managed_server import ManagedServer, claim_tools, server_info
from sagents.tools.mcp.proxy import McpProxy
from sagents.tools.mcp.registry_file import Registrations, load_registrations, save_registrations
from sagents.tools.mcp.resource_tools import EnabledServer, ResourceTools
from sagents.tools.mcp.tool_spec import mcp_tool_spec, tool_prefix
from sagents.tools.spec import ToolSource, ToolSpec

_log = logging.getLogger(__name__)


class McpManager:
    def __init__(
        self,
        tools: ToolManager,
        *,
        settings_path: Path | None,
        registry_path: Path,
        log_dir: Path | None,
        connect_timeout_s: float = 20.0,
        call_timeout_s: float = 60.0,
        startup_wait_s: float = 5.0,
        max_message_bytes: int = 8 * 2**20,
        default_prefix: Literal["none", "server"] = "none",
    ) -> None:
        self._tools = tools
        self._default_prefix = default_prefix
        self._settings_path = settings_path
        self._registry_path = registry_path
        self._log_dir = log_dir
        self._connect_timeout_s = connect_timeout_s
        self._call_timeout_s = call_timeout_s
        self._startup_wait_s = startup_wait_s
        self._max_message_bytes = max_message_bytes
        self._servers: dict[str, ManagedServer] = {}
        self._overrides: dict[str, bool] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closing = False
        self._extras = ResourceTools(tools, self._enabled_servers, call_timeout_s)
        self.config_error: str | None = None
        """A problem with the settings file as a whole (unreadable, not JSON)."""

    @classmethod
    def from_settings(cls, settings: Settings, tools: ToolManager) -> McpManager:
        path = settings.mcp_settings_path
        if path is not None and not path.is_absolute():
            path = Path.cwd() / path
        return cls(
            tools,
            settings_path=path,
            registry_path=settings.data_dir / "mcp_servers.json",
            log_dir=settings.data_dir / "mcp_logs",
            connect_timeout_s=settings.mcp_connect_timeout_s,
            call_timeout_s=settings.mcp_call_timeout_s,
            startup_wait_s=settings.mcp_startup_wait_s,
            max_message_bytes=settings.mcp_max_result_bytes,
            default_prefix=settings.mcp_tool_prefix,
        )

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Load both sources and connect every enabled server concurrently."""
        registrations = await asyncio.to_thread(load_registrations, self._registry_path)
        self._overrides = dict(registrations.disabled_overrides)
        if self._settings_path is not None:
            loaded = await asyncio.to_thread(load_mcp_settings, self._settings_path)
            self.config_error = loaded.file_error
            if loaded.file_error:
                _log.error("MCP settings: %s", loaded.file_error)
            base_dir = self._settings_path.parent
            for name, entry in loaded.servers.items():
                disabled = self._overrides.get(name, entry.disabled)
                self._add(name, ServerOrigin.FILE, entry, disabled=disabled, base_dir=base_dir)
            for name, reason in loaded.errors.items():
                _log.error("MCP settings: server %r is invalid: %s", name, reason)
                self._servers[name] = ManagedServer(
                    name, ServerOrigin.FILE, None, config_error=f"invalid entry: {reason}"
                )
        for name, entry in registrations.servers.items():
            if name in self._servers:
                _log.error("registered MCP server %r is also in mcp_setting.json; ignored", name)
                continue
            self._add(name, ServerOrigin.API, entry, disabled=entry.disabled, base_dir=None)
        pending = [self._connect_in_background(s) for s in self._servers.values() if s.enabled]
        if pending:
            await asyncio.wait(pending, timeout=self._startup_wait_s)

    async def aclose(self) -> None:
        """Close every session (and so every stdio child) and unregister the tools."""
        self._closing = True
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        proxies = [s.proxy for s in self._servers.values() if s.proxy is not None]
        await asyncio.gather(*(p.aclose() for p in proxies), return_exceptions=True)
        for server in self._servers.values():
            self._unregister_all(server)
        self._extras.clear()

    # -- queries --------------------------------------------------------------

    def list(self) -> list[McpServerInfo]:
        return [self._info(s) for s in sorted(self._servers.values(), key=lambda s: s.name)]

    def secret_values(self) -> builtins.list[str]:
        """Every server's header and env values, for redaction (they hold keys)."""
        entries = [s.entry for s in self._servers.values() if s.entry is not None]
        return [v for e in entries for v in (*e.headers.values(), *e.env.values())]

    def info(self, name: str) -> McpServerInfo:
        return self._info(self._get(name))

    async def listing(self, name: str, kind: Literal["resources", "prompts"]) -> Catalog:
        """The server's resources (and templates) or prompts, listed now.

        Raises McpServerNotFound, McpServerConflict (disabled, invalid
        entry), McpUnavailable (not reachable) or McpToolError (refused).
        """
        server = self._get(name)
        if server.proxy is None:
            raise McpServerConflict(
                f"MCP server {name!r} has an invalid entry: {server.config_error}"
            )
        if server.disabled:
            raise McpServerConflict(f"MCP server {name!r} is disabled; enable it first")
        return await server.proxy.fetch(kind)

    def catalog(self, name: str) -> Catalog:
        """What the server offered when last listed (empty if never)."""
        proxy = self._get(name).proxy
        return proxy.catalog if proxy is not None else Catalog()

    # -- admin operations -------------------------------------------------------

    async def register(self, name: str, entry: McpServerEntry) -> McpServerInfo:
        """Add a server, persist it, connect it (a failure is in the result)."""
        async with self._lock:
            if name in self._servers:
                raise McpServerConflict(f"an MCP server named {name!r} already exists")
            server = self._add(name, ServerOrigin.API, entry, disabled=entry.disabled)
            try:
                await self._persist()
            except OSError:
                self._servers.pop(name, None)
                raise
        if server.enabled:
            await self._connect(server)
        return self._info(server)

    async def set_disabled(self, name: str, disabled: bool) -> McpServerInfo:
        async with self._lock:
            server = self._get(name)
            if server.proxy is None or server.entry is None:
                raise McpServerConflict(
                    f"MCP server {name!r} has an invalid entry: {server.config_error}"
                )
            if server.disabled != disabled:
                server.disabled = disabled
                if server.origin is ServerOrigin.API:
                    server.entry = server.entry.model_copy(update={"disabled": disabled})
                else:
                    self._overrides[name] = disabled
                await self._persist()
                if disabled:
                    server.proxy.disable()
                    await server.proxy.aclose()
                    self._unregister_all(server)
                else:
                    await server.proxy.reopen()
        if not disabled:
            await self._connect(server, force=True)
        return self._info(server)

    async def remove(self, name: str) -> None:
        async with self._lock:
            server = self._get(name)
            if server.origin is not ServerOrigin.API:
                raise McpServerConflict(
                    f"MCP server {name!r} comes from mcp_setting.json: remove it there, "
                    f"or disable it here (sage mcp disable {name})"
                )
            del self._servers[name]
            await self._persist()
        if server.proxy is not None:
            await server.proxy.aclose()
        self._unregister_all(server)

    async def refresh(self, name: str) -> McpServerInfo:
        """Reconnect if needed and re-list the server's tools."""
        server = self._get(name)
        if server.proxy is None:
            raise McpServerConflict(
                f"MCP server {name!r} has an invalid entry: {server.config_error}"
            )
        if server.disabled:
            raise McpServerConflict(f"MCP server {name!r} is disabled; enable it first")
        try:
            await server.proxy.refresh()
        except McpUnavailable as error:
            _log.warning("%s", error)
        return self._info(server)

    # -- internals --------------------------------------------------------------

    def _get(self, name: str) -> ManagedServer:
        server = self._servers.get(name)
        if server is None:
            raise McpServerNotFound(name)
        return server

    def _add(
        self,
        name: str,
        origin: ServerOrigin,
        entry: McpServerEntry,
        *,
        disabled: bool,
        base_dir: Path | None = None,
    ) -> ManagedServer:
        server = ManagedServer(name, origin, entry, disabled=disabled)
        server.proxy = McpProxy(
            name,
            entry,
            connect_timeout_s=self._connect_timeout_s,
            call_timeout_s=self._call_timeout_s,
            max_message_bytes=self._max_message_bytes,
            log_dir=self._log_dir,
            base_dir=base_dir,
            on_tools_changed=lambda _proxy: self._sync_tools(server),
        )
        if disabled:
            server.proxy.disable()
        self._servers[name] = server
        return server

    def _connect_in_background(self, server: ManagedServer) -> asyncio.Task[None]:
        task = asyncio.create_task(self._connect(server), name=f"mcp-connect:{server.name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _connect(self, server: ManagedServer, *, force: bool = False) -> None:
        assert server.proxy is not None
        try:
            await server.proxy.connect(force=force)
        except McpUnavailable as error:
            _log.warning("%s", error)

    async def _persist(self) -> None:
        registrations = Registrations(
            servers={
                s.name: s.entry
                for s in self._servers.values()
                if s.origin is ServerOrigin.API and s.entry is not None
            },
            disabled_overrides=dict(self._overrides),
        )
        await asyncio.to_thread(save_registrations, self._registry_path, registrations)

    def _sync_tools(self, server: ManagedServer) -> None:
        """Make the ToolManager hold exactly this server's current tools."""
        if self._closing or server.disabled or self._servers.get(server.name) is not server:
            return
        if server.proxy is None:
            return
        proxy = server.proxy
        specs = ((tool, self._spec(server, proxy, tool)) for tool in proxy.tools)
        claims = claim_tools(server, specs, self._tools)
        wanted = claims.wanted
        for name in [n for n in server.registered if n not in wanted]:
            self._unregister(server, name)
        for name, spec in wanted.items():
            self._tools.add(spec, replace=True)
            server.registered[name] = spec
        server.skipped = claims.skipped
        server.shadowed = claims.shadowed
        self._sync_extras()

    def _prefix(self, server: ManagedServer) -> str:
        return tool_prefix(server.name, server.entry, self._default_prefix)

    def _spec(self, server: ManagedServer, proxy: McpProxy, tool: Any) -> ToolSpec | str:
        prefix = self._prefix(server)
        approval = server.entry is not None and server.entry.approval_needed(tool.name)
        return mcp_tool_spec(
            server.name,
            prefix,
            proxy,
            tool,
            self._call_timeout_s,
            requires_approval=approval,
        )

    def _unregister(self, server: ManagedServer, name: str) -> None:
        server.registered.pop(name, None)
        current = self._tools.get(name)
        ours = current is not None and current.origin == server.name
        if ours and current is not None and current.source is ToolSource.MCP:
            self._tools.remove(name, ToolSource.MCP)

    def _unregister_all(self, server: ManagedServer) -> None:
        for name in list(server.registered):
            self._unregister(server, name)
        server.skipped = []
        server.shadowed = {}
        self._sync_extras()
        # A name this server held may be wanted by another server that was
        # skipped for it: let the others claim their tools again.
        for other in self._servers.values():
            if other is not server and other.skipped:
                self._sync_tools(other)

    def _sync_extras(self) -> None:
        if not self._closing:
            self._extras.sync()

    def _enabled_servers(self) -> builtins.list[EnabledServer]:
        return [
            EnabledServer(s.name, s.proxy, frozenset(s.registered))
            for s in self._servers.values()
            if s.proxy is not None and not s.disabled
        ]

    def _info(self, server: ManagedServer) -> McpServerInfo:
        return server_info(server, self._servers.values(), self._prefix(server))
