"""W3C trace context for MCP servers over HTTP: the ``traceparent`` header.

The MCP SDK puts the current span's context in each request's
``params._meta`` itself (``traceparent``, ``tracestate``; SEP-414), from the
caller's task, where Sage's ``execute_tool`` span is current, so every
server, stdio included, gets it in-band. The HTTP header is what tracing
proxies and HTTP middleware read, and the SDK does not set it: it sends
from its own writer task, which does not share the caller's context. So
``TraceHeaders``, an httpx transport under the SDK's client, copies the
request's ``_meta`` entries into the headers of that same request.
"""

from __future__ import annotations

import json

import httpx2

_FIELDS = ("traceparent", "tracestate")


class TraceHeaders(httpx2.AsyncBaseTransport):
    """Copies ``params._meta.traceparent`` (and ``tracestate``) of a JSON-RPC
    POST into the request's headers, then sends it through ``inner``."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            for name, value in _meta_fields(request).items():
                request.headers[name] = value
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _meta_fields(request: httpx2.Request) -> dict[str, str]:
    try:
        content = request.content
    except httpx2.RequestNotRead:
        return {}
    if b'"traceparent"' not in content:  # the common case: no parse at all
        return {}
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    params = body.get("params") if isinstance(body, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        return {}
    return {k: v for k in _FIELDS if isinstance(v := meta.get(k), str) and v.isascii()}
