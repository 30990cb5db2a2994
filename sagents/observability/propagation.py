"""W3C trace context for MCP servers: ``traceparent`` in the request's
``params._meta`` (where the MCP conventions carry it, so stdio servers get
it too) and, over HTTP transports, as the ``traceparent`` header.

The SDK sends requests from its own writer task, which does not share the
caller's context, so the header cannot be set from the current span at send
time. Instead the caller puts the context in ``_meta`` and ``TraceHeaders``,
an httpx transport under the SDK, lifts it into the HTTP header of that
same request.
"""

from __future__ import annotations

import json

import httpx2
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_FIELDS = ("traceparent", "tracestate")


def trace_meta() -> dict[str, str] | None:
    """The current span's context as ``_meta`` entries; None with no span."""
    carrier: dict[str, str] = {}
    # Stateless; built per call rather than kept in a module global.
    TraceContextTextMapPropagator().inject(carrier)
    return carrier or None


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
