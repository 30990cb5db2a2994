"""Opening the SDK transport for one server entry, and the stdio server's log.

Kept apart from the proxy: this is the only place that knows how each
transport is configured (command lookup, working directory, headers,
timeouts), while the proxy only knows how to own a session.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import deque
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import httpx2
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from sagents.observability.propagation import TraceHeaders
from sagents.tools.mcp.config import McpServerEntry, Transport
from sagents.tools.mcp.http_caps import SDK_SSE_EVENT_LIMIT, CappedTransport
from sagents.tools.mcp.stdio import capped_stdio_client


async def open_transport(
    entry: McpServerEntry,
    stack: AsyncExitStack,
    *,
    errlog: TextIO | None,
    base_dir: Path | None,
    connect_timeout_s: float,
    read_timeout_s: float,
    max_message_bytes: int,
) -> Any:
    """The transport (an un-entered async context manager) for ``entry``.

    The child of a stdio server gets the SDK's minimal default environment
    (PATH, HOME, ...), the TLS and proxy variables a launcher such as
    ``uvx`` needs to download its server (``child_env.py``) and the entry's
    ``env``, never Sage's own environment: an LLM key in
    ``SAGE_LLM_API_KEY`` must not leak into every server.
    Resources that outlive the transport (the HTTP client) go on ``stack``.
    Every transport refuses a message over ``max_message_bytes`` before
    holding it whole (``stdio.py``, ``http_caps.py``); legacy SSE at most
    1 MiB, what the SDK's reader takes.
    """
    if entry.kind is Transport.STDIO:
        assert entry.command is not None and errlog is not None
        cwd = Path(entry.cwd) if entry.cwd else None
        if cwd is not None and not cwd.is_absolute() and base_dir is not None:
            cwd = base_dir / cwd
        params = StdioServerParameters(
            command=resolve_command(entry.command),
            args=list(entry.args),
            env=dict(entry.env) or None,
            cwd=cwd,
        )
        return capped_stdio_client(params, errlog=errlog, max_message_bytes=max_message_bytes)
    assert entry.url is not None
    headers = dict(entry.headers) or None
    if entry.kind is Transport.SSE:
        sse_limit = min(max_message_bytes, SDK_SSE_EVENT_LIMIT)

        def client_factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return httpx2.AsyncClient(
                headers=headers,
                timeout=timeout,
                auth=auth,
                transport=CappedTransport(sse_limit, TraceHeaders()),
            )

        return sse_client(
            entry.url,
            headers=headers,
            timeout=connect_timeout_s,
            sse_read_timeout=read_timeout_s,
            httpx_client_factory=client_factory,
        )
    http = await stack.enter_async_context(
        httpx2.AsyncClient(
            headers=headers,
            timeout=httpx2.Timeout(connect_timeout_s, read=read_timeout_s),
            transport=CappedTransport(max_message_bytes, TraceHeaders()),
        )
    )
    # The SDK's own per-event limit stays as a backstop above ours.
    return streamable_http_client(
        entry.url, http_client=http, max_sse_event_size=max_message_bytes + 64 * 1024
    )


def resolve_command(command: str) -> str:
    """Find bare commands on PATH, else next to this Python.

    Servers installed into Sage's own virtualenv (``mcp-server-time``) then
    work from ``mcp_setting.json`` without activating it.
    """
    if os.sep in command or shutil.which(command):
        return command
    sibling = Path(sys.executable).parent / command
    return str(sibling) if sibling.is_file() else command


def open_errlog(path: Path | None) -> TextIO:
    """Where a stdio server's stderr goes: the SDK needs a real file descriptor.

    Blocking; call through ``asyncio.to_thread``. The owner task closes it.
    """
    if path is None:
        return open(os.devnull, "w")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")


def stderr_tail(path: Path | None, lines: int = 3) -> str:
    """The last lines a server wrote to stderr, to explain a failed start."""
    if path is None:
        return ""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            tail = deque((line.strip() for line in handle if line.strip()), maxlen=lines)
    except OSError:
        return ""
    return " | ".join(tail)[-500:]
