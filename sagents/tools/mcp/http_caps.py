"""The size cap on MCP messages over HTTP (SSE and streamable HTTP).

An httpx transport that wraps the real one and caps each message in the
response bodies before the SDK reads them: a JSON body (one message) is held
up to the cap, an event stream is split into events (``oversize.py``) and
each is held up to the cap. A message over the cap is replaced by a small
JSON-RPC error for the request it answers, so the SDK parses a few hundred
bytes instead of the whole answer, that call fails with "result too large",
and the session goes on. The SDK's own limits are not enough: it reads JSON
bodies whole without any limit, and an SSE event over its limit (1 MiB) ends
the whole legacy SSE session, failing every call waiting on it.

Why a transport: the SDK takes our httpx client (streamable HTTP) or a
factory for one (legacy SSE), and the transport is the one place that sees
both the request (whose id an oversized answer belongs to) and the response
bytes before anything buffers them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx2

from sagents.tools.mcp.oversize import (
    BoundedSplitter,
    Refused,
    RequestId,
    from_server,
    too_large_message,
)

_log = logging.getLogger(__name__)

SDK_SSE_EVENT_LIMIT = 1024 * 1024
"""What the SDK's legacy SSE client reads at most per event (httpx2's
default, not configurable through ``sse_client``); past it the SDK ends the
session, so the cap there is at most this."""


class CappedTransport(httpx2.AsyncBaseTransport):
    """Caps every MCP message in the responses of ``inner`` at ``limit`` bytes."""

    def __init__(self, limit: int, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.limit = limit
        self._inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        asked = _request_id(request) if request.method == "POST" else None
        body = response.stream
        assert isinstance(body, httpx2.AsyncByteStream)  # an async transport's
        stream: httpx2.AsyncByteStream
        if kind == "text/event-stream":
            stream = _CappedEvents(body, self.limit, asked)
        elif request.method == "POST" and asked is not None:
            stream = _CappedBody(body, self.limit, asked)
        else:
            return response
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            stream=stream,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _request_id(request: httpx2.Request) -> RequestId | None:
    """The JSON-RPC id of a request POST (None for notifications and responses)."""
    try:
        body = json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return None
    if isinstance(body, dict) and "method" in body:
        value = body.get("id")
        return value if isinstance(value, int | str) else None
    return None


class _CappedBody(httpx2.AsyncByteStream):
    """A JSON body, one message: passed on whole if it is within the cap,
    else replaced by the error for ``asked`` without reading the rest."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, asked: RequestId) -> None:
        self._inner = inner
        self._limit = limit
        self._asked = asked

    async def __aiter__(self) -> AsyncIterator[bytes]:
        body = bytearray()
        async for chunk in self._inner:
            body += chunk
            if len(body) > self._limit:
                _log.warning("an MCP server's answer passed %d bytes; refused", self._limit)
                yield too_large_message(self._asked, self._limit)
                return
        yield bytes(body)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedEvents(httpx2.AsyncByteStream):
    """An event stream with every event over the cap replaced.

    On a request's own stream (``asked`` set, streamable HTTP), an oversized
    event that is not a server request or notification is that request's
    answer: it is refused at once and the stream ends, since nothing after
    the answer matters. On a shared stream (legacy SSE, the streamable GET),
    the reader skips to the event's end and goes on; an oversized event
    naming no id there is dropped, and its call ends at its timeout.
    """

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, asked: RequestId | None) -> None:
        self._inner = inner
        self._limit = limit
        self._asked = asked

    async def __aiter__(self) -> AsyncIterator[bytes]:
        splitter = BoundedSplitter(self._limit, events=True)
        async for chunk in self._inner:
            out: list[bytes] = []
            for item in splitter.feed(chunk):
                if isinstance(item, Refused):
                    out.append(self._stand_in(item))
                else:
                    out.append(item)
            refusing = splitter.refusing
            if refusing is not None and self._asked is not None and not _from_server(refusing):
                out.append(self._stand_in(refusing))
                yield b"".join(out)
                return
            if out:
                yield b"".join(out)

    def _stand_in(self, refused: Refused) -> bytes:
        if _from_server(refused):
            _log.warning("an MCP server sent a message over %d bytes; dropped", self._limit)
            return b""
        request_id = refused.request_id if refused.request_id is not None else self._asked
        if request_id is None:
            _log.warning(
                "an MCP server sent a message over %d bytes naming no request; dropped",
                self._limit,
            )
            return b""
        _log.warning("an MCP server's answer passed %d bytes; refused", self._limit)
        return (
            b"event: message\r\ndata: " + too_large_message(request_id, self._limit) + b"\r\n\r\n"
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _from_server(refused: Refused) -> bool:
    return from_server(refused.head)
