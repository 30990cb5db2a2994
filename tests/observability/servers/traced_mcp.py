"""An MCP server that reports the trace context its caller sent.

Run as ``python traced_mcp.py streamable-http|sse PORT`` or ``stdio``.
"""

from __future__ import annotations

import json
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("traced")


@server.tool()
def trace_context(ctx: Context) -> str:  # type: ignore[type-arg]
    """The traceparent header and _meta entry of this request."""
    headers = ctx.headers or {}
    meta = getattr(ctx.request_context, "meta", None)
    meta_value = None
    if isinstance(meta, dict):
        meta_value = meta.get("traceparent")
    elif meta is not None:
        meta_value = getattr(meta, "traceparent", None) or (
            getattr(meta, "model_extra", None) or {}
        ).get("traceparent")
    return json.dumps({"header": headers.get("traceparent"), "meta": meta_value})


if __name__ == "__main__":
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run()
    else:
        server.run(transport, host="127.0.0.1", port=int(sys.argv[2]))  # type: ignore[call-overload]
