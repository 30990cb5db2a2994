"""The stdio transport, reading the server's messages with a size cap.

Written here instead of using the SDK's ``stdio_client`` because of how that
one reads stdout: it joins its pending buffer with every new read and splits
the whole again, so a message of n bytes costs O(n²) (a 20 MB tool result took
18 s of CPU, with every other call to the server waiting behind it) and is
held whole, whatever its size. This reader splits lines in one pass over a
``bytearray`` and refuses a line over ``max_message_bytes`` as it arrives
(``oversize.py``): the call it answers fails with "result too large" and the
session goes on.

The process handling follows the SDK's (and the MCP spec's shutdown order):
the server runs in its own session and process group; on exit its stdin is
closed, it gets a grace period, then the whole group is terminated, every
wait bounded and shielded so a cancelled owner cannot leak a live server.
POSIX only, like the rest of Sage's process handling.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TextIO

import anyio
import mcp_types
from anyio.abc import Process
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage

from sagents.child_env import child_environment
from sagents.tools.mcp.oversize import (
    RESULT_TOO_LARGE,
    BoundedSplitter,
    Refused,
    RequestId,
    from_server,
    too_large_text,
)

_log = logging.getLogger(__name__)

EXIT_GRACE_S = 2.0
"""How long a server gets to exit by itself once its stdin is closed."""
KILL_GRACE_S = 2.0
"""Between SIGTERM and SIGKILL of the server's process group."""


class _Outstanding:
    """The requests sent and not yet answered: a refused answer names one of
    them, and one that names none can only be resolved by closing."""

    def __init__(self) -> None:
        self.ids: set[RequestId] = set()

    def sent(self, message: SessionMessage) -> None:
        root = message.message
        if isinstance(root, mcp_types.JSONRPCRequest):
            self.ids.add(root.id)
        elif (
            isinstance(root, mcp_types.JSONRPCNotification)
            and root.method == "notifications/cancelled"
            and isinstance(root.params, dict)
        ):
            self.ids.discard(root.params.get("requestId"))

    def answered(self, message: object) -> None:
        if isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError):
            self.ids.discard(message.id)


@asynccontextmanager
async def capped_stdio_client(
    server: StdioServerParameters, *, errlog: TextIO, max_message_bytes: int
) -> AsyncIterator[TransportStreams]:
    """Spawn the server and connect to it over its stdin/stdout.

    The server's environment is the SDK's minimal default, the TLS and proxy
    variables, and ``server.env`` (``sagents/child_env.py``), never Sage's own.
    """
    process = await anyio.open_process(
        [server.command, *server.args],
        env=child_environment(server.env),
        stderr=errlog,
        cwd=server.cwd,
        start_new_session=True,
    )
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    outstanding = _Outstanding()

    async def stdout_reader() -> None:
        assert process.stdout is not None
        splitter = BoundedSplitter(max_message_bytes)
        async with read_writer:
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                async for chunk in process.stdout:
                    for item in splitter.feed(chunk):
                        message: SessionMessage | Exception
                        if isinstance(item, Refused):
                            stand_in = _refused(item, outstanding, max_message_bytes)
                            if isinstance(stand_in, str):  # "close"
                                return  # the session sees the connection end
                            if stand_in is None:
                                continue
                            message = stand_in
                        else:
                            message = _parse(item)
                            if isinstance(message, SessionMessage):
                                outstanding.answered(message.message)
                        await read_writer.send(message)

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for session_message in write_reader:
                    outstanding.sent(session_message)
                    text = session_message.message.model_dump_json(
                        by_alias=True, exclude_unset=True
                    )
                    await process.stdin.send((text + "\n").encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server stopped reading: end the session rather than let a
            # request wait for an answer that cannot come.
            await read_writer.aclose()

    async with anyio.create_task_group() as group:
        group.start_soon(stdout_reader)
        group.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                for stream in (read_stream, write_stream):
                    await stream.aclose()
                await _stop(process)
            group.cancel_scope.cancel()


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as error:
        _log.warning("an MCP server sent a line that is not a JSON-RPC message: %s", error)
        return error


def _refused(
    refused: Refused, outstanding: _Outstanding, limit: int
) -> SessionMessage | str | None:
    """What the session gets instead of a refused message: an error for the
    request it answers; nothing for a request or notification from the
    server; ``"close"`` when it answers an unknown one while calls wait,
    since only closing (and reconnecting) resolves those calls for sure."""
    request_id = refused.request_id
    if request_id is not None and request_id in outstanding.ids and not from_server(refused.head):
        outstanding.ids.discard(request_id)
        error = mcp_types.ErrorData(code=RESULT_TOO_LARGE, message=too_large_text(limit))
        return SessionMessage(mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))
    if from_server(refused.head) or not outstanding.ids:
        _log.warning("an MCP server sent a message over %d bytes; it was dropped", limit)
        return None
    _log.warning(
        "an MCP server sent a message over %d bytes answering no known request; "
        "closing the connection",
        limit,
    )
    return "close"


async def _stop(process: Process) -> None:
    """Close stdin, wait a grace period, then terminate the process group."""
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await pipe.aclose()
    if not await _exited(process, EXIT_GRACE_S):
        await terminate_posix_process_tree(process, KILL_GRACE_S)
        if not await _exited(process, KILL_GRACE_S):
            _log.warning("MCP server process %d is still alive after SIGKILL", process.pid)


async def _exited(process: Process, timeout_s: float) -> bool:
    """Whether the process exited within ``timeout_s``. Polls ``returncode``
    rather than ``wait()``, which on asyncio also waits for the pipes to
    close, and a grandchild holding them would make an exited server look
    hung (the SDK polls for the same reason)."""
    with anyio.move_on_after(timeout_s):
        while process.returncode is None:  # noqa: ASYNC110 (no event to wait on)
            await anyio.sleep(0.01)
        return True
    return False
