"""The 1,000-stream scenario's client: one chat over a bare asyncio protocol.

``bench.sse_client.chat`` reads through httpx2 (httpcore, h11), which cost
the bench client 190–260 µs of CPU per streamed token in the 1,000-stream
runs (docs/benchmarks.md): at 5,000 tokens/s that is more than the one core
a Python process can use, so the client itself fell behind and its backlog
showed up as the servers' lateness. This client does only what that
scenario needs (HTTP/1.1 on loopback, one request per connection, a
chunked or sized SSE body, frames split from bytes as they arrive) in
``asyncio.Protocol`` callbacks, with no stream objects or coroutines per
read; it is hand-written because no HTTP client library reads this cheaply
(the figure it reaches is in docs/benchmarks.md). Frames are read by the
same ``read_frame`` as ``bench.sse_client``, so both clients count tokens
and terminal events alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from bench.sse_client import ChatTrace, read_frame

MAX_HEAD = 64 * 1024
"""A response head longer than this is an error, not something to buffer."""


class StreamError(Exception):
    """The server answered something other than a 200 SSE stream, or broke it."""


class _ChatProtocol(asyncio.Protocol):
    """Sends one request, then reads the response into a ``ChatTrace``."""

    def __init__(self, request: bytes, trace: ChatTrace, parse: bool) -> None:
        self._request = request
        self._trace = trace
        self._parse = parse
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._in_body = False
        self._chunked = False
        self._left = -1
        """Bytes of the body still to come when it has a Content-Length."""
        self._raw = b""
        """Chunked body bytes not decoded yet."""
        self._frames = b""
        """Decoded body bytes that do not end a frame yet."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        now = time.perf_counter()
        try:
            if not self._in_body:
                data = self._read_head(data)
                if not self._in_body:
                    return
            if self._chunked:
                body, ended = self._dechunk(data)
            else:
                body = data
                self._left -= len(data)
                ended = self._left <= 0
            self._read_body(body, now, ended)
        except StreamError as exc:
            self._finish(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self._finish(StreamError(f"the connection closed mid-response ({exc})"))

    def _read_head(self, data: bytes) -> bytes:
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                raise StreamError("the response head is too long")
            return b""
        lines = self._head[:end].decode("latin-1").split("\r\n")
        rest = self._head[end + 4 :]
        self._head = b""
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "200":
            raise StreamError(f"the server answered {lines[0]!r}")
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "transfer-encoding" and "chunked" in value.lower():
                self._chunked = True
            elif name == "content-length":
                self._left = int(value)
            elif name == "x-session-id":
                self._trace.session_id = value
        if not self._chunked and self._left < 0:
            raise StreamError("the response has neither a length nor chunked encoding")
        self._in_body = True
        return rest

    def _dechunk(self, data: bytes) -> tuple[bytes, bool]:
        """The body bytes the chunks received so far carry, and whether the
        last chunk has come."""
        raw = self._raw + data
        out: list[bytes] = []
        at = 0
        ended = False
        while True:
            line_end = raw.find(b"\r\n", at)
            if line_end < 0:
                break
            try:
                size = int(raw[at:line_end].split(b";", 1)[0], 16)
            except ValueError:
                raise StreamError("a chunk's size line is not hexadecimal") from None
            if size == 0:
                ended = True
                at = len(raw)
                break
            start = line_end + 2
            if len(raw) < start + size + 2:
                break
            out.append(raw[start : start + size])
            at = start + size + 2
        self._raw = raw[at:]
        return b"".join(out), ended

    def _read_body(self, body: bytes, now: float, ended: bool) -> None:
        # sse-starlette ends lines with CRLF; a CR left at the end of the
        # buffer meets its LF in the next read and is folded then.
        *frames, self._frames = (self._frames + body).replace(b"\r\n", b"\n").split(b"\n\n")
        for frame in frames:
            read_frame(self._trace, frame, now, self._parse)
        if ended:
            if self._frames.strip():
                read_frame(self._trace, self._frames, now, self._parse)
            self._finish(None)

    def _finish(self, error: Exception | None) -> None:
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)
        if self._transport is not None:
            self._transport.close()


async def stream_chat(
    base_url: str, payload: dict[str, Any], *, parse: bool = False, timeout_s: float = 120
) -> ChatTrace:
    """``POST /api/v1/chat`` on a new connection and read its whole stream."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = json.dumps(payload).encode()
    request = (
        f"POST /api/v1/chat HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    trace = ChatTrace(started=time.perf_counter())
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        transport, protocol = await loop.create_connection(
            lambda: _ChatProtocol(request, trace, parse), host, port
        )
        try:
            await protocol.done
        finally:
            transport.close()
    trace.ended = time.perf_counter()
    return trace
