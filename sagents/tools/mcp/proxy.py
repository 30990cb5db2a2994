"""McpProxy: one MCP server, one session, owned by one task.

The SDK's transports and ``Client`` are anyio context managers with task
groups inside; entering one in a task and leaving it in another raises
cancel-scope errors. So each connection has an *owner* task that enters the
context, stays in it until told to stop, and leaves it (``connection.py``
holds the connection's state and what the owner runs while it is open).
Everything else (every session's tool calls, refreshes) only sends requests over the open
``Client``, which the SDK supports from any task of the loop: each request
waits on its own response stream, and a caller that is cancelled sends the
server ``notifications/cancelled`` itself (the SDK does this in
``JSONRPCDispatcher.send_raw_request``, shielded, so the server is told).

A dead server is noticed when a call fails with a closed connection: that
call comes back as a failure, the owner is told to stop (which, for stdio,
reaps the process), and the next use connects again. Failed connection
attempts back off exponentially, so a broken server is not respawned on
every call; an explicit ``refresh`` always tries at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

import anyio
import mcp_types
from mcp import Client
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from sagents.tools.call_scope import CallScope, current_call
from sagents.tools.mcp.catalog import Catalog, list_extras, list_tools
from sagents.tools.mcp.config import McpServerEntry, Transport
from sagents.tools.mcp.connection import Connection, open_session
from sagents.tools.mcp.convert import McpToolError
from sagents.tools.mcp.elicitation import elicitation_callback
from sagents.tools.mcp.health import (
    CONNECTION_ERRORS,
    Backoff,
    McpStatus,
    McpUnavailable,
    describe_error,
)
from sagents.tools.mcp.transports import open_errlog, stderr_tail

_log = logging.getLogger(__name__)

ToolsChanged = Callable[["McpProxy"], None]
T = TypeVar("T")


class McpProxy:
    """A live connection to one MCP server, shared by every session."""

    def __init__(
        self,
        name: str,
        entry: McpServerEntry,
        *,
        connect_timeout_s: float,
        call_timeout_s: float,
        max_message_bytes: int = 8 * 2**20,
        log_dir: Path | None = None,
        base_dir: Path | None = None,
        on_tools_changed: ToolsChanged | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.entry = entry
        self._connect_timeout_s = connect_timeout_s
        self._call_timeout_s = call_timeout_s
        self._max_message_bytes = max_message_bytes
        self._errlog_path = None if log_dir is None else log_dir / f"{name}.stderr.log"
        self._base_dir = base_dir
        self._on_tools_changed = on_tools_changed
        self._backoff = backoff or Backoff()
        self._current: Connection | None = None
        self._owners: set[asyncio.Task[None]] = set()
        self._catalog = Catalog()
        self._status = McpStatus.IDLE
        self._last_error: str | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._closed = False
        self._calls: dict[object, CallScope] = {}
        """The run calls now running on this server (elicitation.py)."""

    @property
    def status(self) -> McpStatus:
        return self._status

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def tools(self) -> tuple[mcp_types.Tool, ...]:
        """The cached tool list (kept while disconnected, so calls can reconnect)."""
        return self._catalog.tools

    @property
    def catalog(self) -> Catalog:
        """Tools, resources and prompts as last listed."""
        return self._catalog

    async def connect(self, *, force: bool = False) -> None:
        """Connect now if not connected; raises McpUnavailable on failure."""
        await self._client(force=force)

    async def refresh(self) -> tuple[mcp_types.Tool, ...]:
        """Reconnect if needed (ignoring backoff) and list the tools again.

        A connection found dead is replaced once within the same refresh:
        unlike a tool call, listing tools is safe to repeat.
        """
        for attempt in (1, 2):
            client = await self._client(force=True)
            connection = self._current
            try:
                tools = await list_tools(client, self._connect_timeout_s)
                catalog = await list_extras(
                    client, replace(self._catalog, tools=tools), self._connect_timeout_s, self.name
                )
            except MCPError as error:
                if error.code != mcp_types.CONNECTION_CLOSED:
                    raise McpUnavailable(
                        f"MCP server {self.name!r}: listing tools failed: {error.message}"
                    ) from None
                lost = self._lost(connection, error.message)
            except TimeoutError:
                limit = self._connect_timeout_s
                raise McpUnavailable(
                    f"MCP server {self.name!r}: listing tools took over {limit:g} s"
                ) from None
            except CONNECTION_ERRORS as error:
                lost = self._lost(connection, describe_error(error))
            else:
                self._set_catalog(catalog)
                return tools
            if attempt == 2:
                raise lost
        raise AssertionError("unreachable")

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], *, progress: ProgressFnT | None = None
    ) -> mcp_types.CallToolResult:
        """Call one tool. Cancelling the caller cancels the call on the server.

        ``progress`` receives the server's progress notifications for this
        call. Raises McpUnavailable when the server cannot be reached (the
        next call reconnects) and McpToolError when the server refused the
        request.
        """

        def send(client: Client) -> Awaitable[mcp_types.CallToolResult]:
            return client.call_tool(
                tool,
                arguments,
                read_timeout_seconds=self._call_timeout_s,
                progress_callback=progress,
            )

        key, scope = object(), current_call()
        if scope is not None:
            self._calls[key] = scope
        try:
            return await self._request(f"tool {tool!r}", send)
        finally:
            self._calls.pop(key, None)

    async def read_resource(self, uri: str) -> mcp_types.ReadResourceResult:
        async def send(client: Client) -> mcp_types.ReadResourceResult:
            with anyio.fail_after(self._call_timeout_s):
                return await client.read_resource(uri)

        return await self._request(f"resource {uri!r}", send)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> mcp_types.GetPromptResult:
        async def send(client: Client) -> mcp_types.GetPromptResult:
            with anyio.fail_after(self._call_timeout_s):
                return await client.get_prompt(name, arguments or None)

        return await self._request(f"prompt {name!r}", send)

    async def fetch(self, kind: Literal["resources", "prompts"]) -> Catalog:
        """List ``kind`` now (connecting if needed); the catalog, updated."""

        async def send(client: Client) -> Catalog:
            timeout = self._connect_timeout_s
            return await list_extras(client, self._catalog, timeout, self.name, only=kind)

        self._set_catalog(await self._request(f"listing {kind}", send))
        return self._catalog

    async def _request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """One request over the session, its failures sorted: a lost
        connection (McpUnavailable, the next use reconnects), a refusal by
        the server (McpToolError), or the call's own timeout."""
        client = await self._client()
        connection = self._current
        try:
            return await send(client)
        except MCPError as error:
            if error.code == mcp_types.CONNECTION_CLOSED:
                raise self._lost(connection, error.message) from None
            raise McpToolError(f"MCP server {self.name!r}, {what}: {error.message}") from None
        except TimeoutError:
            limit = f"{self._call_timeout_s:g} s"
            raise McpToolError(
                f"MCP server {self.name!r}, {what}: no answer within {limit}"
            ) from None
        except CONNECTION_ERRORS as error:
            raise self._lost(connection, describe_error(error)) from None

    def disable(self) -> None:
        """Mark disabled; the caller also closes the connection."""
        self._status = McpStatus.DISABLED
        self._catalog = Catalog()

    async def aclose(self) -> None:
        """Close the session and wait until the owner has left it.

        For stdio the SDK closes the server's stdin, waits briefly, then
        terminates its whole process tree, so no child outlives this.
        """
        self._closed = True
        self._stop(self._current)
        self._current = None
        if self._status is not McpStatus.DISABLED:
            self._status = McpStatus.IDLE
        owners = list(self._owners)
        if owners:
            await asyncio.gather(*owners, return_exceptions=True)

    async def reopen(self) -> None:
        """Allow connecting again after ``aclose`` (a server re-enabled)."""
        await self.aclose()
        self._closed = False
        self._status = McpStatus.IDLE
        self._failures = 0
        self._retry_at = 0.0

    # -- connection management -------------------------------------------

    async def _client(self, *, force: bool = False) -> Client:
        if self._closed or self._status is McpStatus.DISABLED:
            raise McpUnavailable(f"MCP server {self.name!r} is disabled or closed")
        connection = self._current
        if connection is None:
            wait = self._retry_at - asyncio.get_running_loop().time()
            if wait > 0 and not force:
                raise McpUnavailable(
                    f"MCP server {self.name!r} is unavailable ({self._last_error}); "
                    f"next connection attempt in {wait:.1f} s"
                )
            connection = self._spawn()
        # Shielded: a caller cancelled while waiting must not abort a connection
        # attempt other callers share; the attempt has its own timeout.
        return await asyncio.shield(connection.ready)

    def _spawn(self) -> Connection:
        connection = Connection()
        self._current = connection
        self._status = McpStatus.CONNECTING
        task = asyncio.create_task(self._own(connection), name=f"mcp-owner:{self.name}")
        connection.task = task
        self._owners.add(task)
        task.add_done_callback(self._owners.discard)
        loop = asyncio.get_running_loop()
        loop.call_later(self._connect_timeout_s, self._connect_deadline, connection)
        return connection

    def _connect_deadline(self, connection: Connection) -> None:
        if not connection.ready.done():
            connection.ready.set_exception(
                McpUnavailable(
                    f"MCP server {self.name!r} did not connect within {self._connect_timeout_s:g} s"
                )
            )
            if connection.scope is not None:
                connection.scope.cancel()

    async def _own(self, connection: Connection) -> None:
        """The owner task: enter the session, serve until stopped, leave it."""
        error: BaseException | None = None
        errlog: TextIO | None = None
        try:
            with anyio.CancelScope() as scope:
                connection.scope = scope
                if connection.ready.done():  # timed out before we even started
                    return
                async with AsyncExitStack() as stack:
                    if self.entry.kind is Transport.STDIO:
                        errlog = await asyncio.to_thread(open_errlog, self._errlog_path)
                    client, catalog = await open_session(
                        self.name,
                        self.entry,
                        stack,
                        connection,
                        errlog=errlog,
                        base_dir=self._base_dir,
                        connect_timeout_s=self._connect_timeout_s,
                        call_timeout_s=self._call_timeout_s,
                        max_message_bytes=self._max_message_bytes,
                        elicitation=elicitation_callback(
                            self.name, lambda: list(self._calls.values())
                        ),
                    )
                    if connection.ready.done():  # the deadline passed meanwhile
                        return
                    connection.client = client
                    self._connected(catalog)
                    connection.ready.set_result(client)
                    await connection.serve(
                        client,
                        self.name,
                        timeout_s=self._connect_timeout_s,
                        current=lambda: self._catalog,
                        on_catalog=self._set_catalog,
                    )
        except Exception as caught:
            error = caught
        finally:
            if errlog is not None:
                errlog.close()
            self._owner_ended(connection, error)

    # -- state transitions ------------------------------------------------

    def _connected(self, catalog: Catalog) -> None:
        self._status = McpStatus.CONNECTED
        self._last_error = None
        self._failures = 0
        self._retry_at = 0.0
        _log.info(
            "MCP server %r connected: %d tools, %d resources, %d prompts",
            self.name,
            len(catalog.tools),
            len(catalog.resources) + len(catalog.templates),
            len(catalog.prompts),
        )
        self._set_catalog(catalog)

    def _set_catalog(self, catalog: Catalog) -> None:
        self._catalog = catalog
        if self._on_tools_changed is not None:
            self._on_tools_changed(self)

    def _lost(self, connection: Connection | None, reason: str) -> McpUnavailable:
        """A call found the connection dead: stop its owner, reconnect next time."""
        message = f"MCP server {self.name!r} is not reachable ({reason})"
        if connection is not None and connection is self._current:
            self._current = None
            self._status = McpStatus.ERROR
            self._last_error = f"connection lost: {reason}"
            _log.warning("%s; it will be reconnected on next use", message)
        self._stop(connection)
        return McpUnavailable(f"{message}; it will be reconnected on the next call")

    def _stop(self, connection: Connection | None) -> None:
        if connection is not None:
            connection.close()

    def _owner_ended(self, connection: Connection, error: BaseException | None) -> None:
        connection.client = None
        if not connection.ready.done():
            reason = describe_error(error) if error else "the connection attempt was cancelled"
            tail = stderr_tail(self._errlog_path) if self.entry.kind is Transport.STDIO else ""
            if tail:
                reason = f"{reason}; server stderr: {tail}"
            connection.ready.set_exception(
                McpUnavailable(f"MCP server {self.name!r} failed to connect: {reason}")
            )
        if connection is not self._current:
            return
        # This connection was current: it failed to connect, or died unnoticed.
        self._current = None
        if self._closed or self._status is McpStatus.DISABLED:
            return
        exc = connection.ready.exception() if not connection.ready.cancelled() else None
        if isinstance(exc, McpUnavailable):
            self._failures += 1
            delay = self._backoff.delay(self._failures)
            self._retry_at = asyncio.get_running_loop().time() + delay
            self._last_error = str(exc)
            _log.warning("%s (next attempt in %.1f s)", exc, delay)
        else:
            self._last_error = (
                f"connection ended: {describe_error(error)}" if error else "disconnected"
            )
        self._status = McpStatus.ERROR
