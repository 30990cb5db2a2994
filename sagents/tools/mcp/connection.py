"""One connection of an ``McpProxy``: what its owner task holds and runs.

The owner task (``McpProxy._own``) enters the transport and the SDK's
``Client`` and leaves them itself (anyio cancel scopes must be left by the
task that entered them). In between it opens the session
(``open_session``), then serves it (``Connection.serve``): it listens for
the server's change notifications and re-lists what changed, until told to
stop (``Connection.close``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.lowlevel
import mcp_types
from mcp import Client
from mcp.client.session import ElicitationFnT, IncomingMessage

from sagents.tools.mcp.catalog import Catalog, list_extras, list_tools
from sagents.tools.mcp.changes import Changes, listen, relist
from sagents.tools.mcp.config import McpServerEntry
from sagents.tools.mcp.transports import open_transport

_log = logging.getLogger(__name__)

CLIENT_INFO = mcp_types.Implementation(name="sage", version="0.1.0")


class Connection:
    """One owner task's state: its client once connected, and how to stop it."""

    def __init__(self) -> None:
        self.ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        # Nobody may be waiting when a background attempt fails; mark the
        # exception as seen so asyncio does not log it as lost.
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.stop = asyncio.Event()
        self.changes = Changes()
        self.scope: anyio.CancelScope | None = None
        self.client: Client | None = None
        self.task: asyncio.Task[None] | None = None

    def close(self) -> None:
        """Tell the owner to leave the session (cancelling it while it connects)."""
        if self.client is None and self.scope is not None:
            self.scope.cancel()  # still connecting
        self.stop.set()

    def message_handler(self, server: str) -> Any:
        """The SDK's message handler: notes change notifications for ``serve``."""

        async def handle(message: IncomingMessage) -> None:
            # Runs inside the SDK's receive loop: never await a request here,
            # only wake the refresh loop.
            if not self.changes.note_message(message) and isinstance(message, Exception):
                _log.debug("MCP server %r: transport reported %r", server, message)
            await anyio.lowlevel.checkpoint()

        return handle

    async def serve(
        self,
        client: Client,
        server: str,
        *,
        timeout_s: float,
        current: Callable[[], Catalog],
        on_catalog: Callable[[Catalog], None],
    ) -> None:
        """Re-list what the server says changed (into ``on_catalog``, from the
        ``current`` catalog) until ``close``."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._refresh_loop, client, server, timeout_s, current, on_catalog)
            group.start_soon(listen, client, self.changes, server)
            await self.stop.wait()
            group.cancel_scope.cancel()

    async def _refresh_loop(
        self,
        client: Client,
        server: str,
        timeout_s: float,
        current: Callable[[], Catalog],
        on_catalog: Callable[[Catalog], None],
    ) -> None:
        while True:
            kinds = await self.changes.next()
            try:
                catalog = await relist(client, current(), kinds, timeout_s)
            except Exception as error:
                _log.warning("MCP server %r: re-listing %s failed: %s", server, kinds, error)
                continue
            on_catalog(catalog)


async def open_session(
    name: str,
    entry: McpServerEntry,
    stack: AsyncExitStack,
    connection: Connection,
    *,
    errlog: TextIO | None,
    base_dir: Path | None,
    connect_timeout_s: float,
    call_timeout_s: float,
    max_message_bytes: int,
    elicitation: ElicitationFnT | None = None,
) -> tuple[Client, Catalog]:
    """Open the transport and the client on ``stack`` and list what the server
    offers; the owner task leaves ``stack`` when the connection ends.
    ``elicitation`` answers the server's requests for the user's input."""
    transport = await open_transport(
        entry,
        stack,
        errlog=errlog,
        base_dir=base_dir,
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=call_timeout_s + 5,
        max_message_bytes=max_message_bytes,
    )
    client = await stack.enter_async_context(
        Client(
            transport,
            cache=None,
            client_info=CLIENT_INFO,
            read_timeout_seconds=connect_timeout_s,
            message_handler=connection.message_handler(name),
            elicitation_callback=elicitation,
        )
    )
    tools = await list_tools(client, connect_timeout_s)
    catalog = await list_extras(client, Catalog(tools=tools), connect_timeout_s, name)
    return client, catalog
