"""The lean relay: the least any Python service could do for a chat.

A minimal Starlette app on the same HTTP stack as Sage's service (uvicorn in
front, an httpx2 pool to the LLM) that relays the LLM's stream to its client
as SSE: no store, no event objects, no sessions, no history, no cancel
machinery. ``POST /api/v1/chat`` takes Sage's request body (``message``,
``available_tools``); when ``add`` is offered it makes the same tool turn as
Sage (the LLM calls ``add``, the relay calls it by hand and sends a
``tool.result`` event, the LLM streams the answer). A call that fails before
its first delta is retried as Sage retries it. Each wire delta's text
goes out as it arrives, as ``event: message.delta`` with ``{"delta": …}``,
and the run ends with ``run.finished`` carrying the answer, so the bench's
SSE client (``bench.sse_client.chat``) reads Sage and the relay alike and
the comparison is of the two servers only.

``python -m bench.relay`` reads the LLM's address and model from the same
``SAGE_LLM_BASE_URL`` / ``SAGE_LLM_MODEL`` variables the Sage server gets,
binds a free loopback port, prints ``URL <url>`` and serves under uvicorn
with sage serve's configuration, as ``bench.server`` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.server import run_server, uvicorn_config
from bench.direct import ADD_TOOL, SYSTEM, LeanDirectClient, fold_tool_calls
from bench.gc_pauses import record_from_env
from bench.sampler import profile_from_env
from bench.tools import add_numbers
from sagents.settings import Settings


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


RETRIES = 3
"""As many as Sage's default ``llm_max_retries``: a call that fails before its
first delta (a connect timeout, a connection the LLM closed) is made again,
so an overloaded mock costs the relay what it costs Sage, not an error."""


def create_relay(base_url: str, model: str) -> Starlette:
    llm = LeanDirectClient(base_url)

    async def retried(
        messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> AsyncIterator[dict[str, Any]]:
        for attempt in range(RETRIES + 1):
            started = False
            try:
                async for delta in llm.deltas(model, messages, tools):
                    started = True
                    yield delta
                return
            except httpx2.TransportError:
                if started or attempt == RETRIES:
                    raise
            await asyncio.sleep(0.25 * 2**attempt)

    async def relay(message: str, tools: list[dict[str, Any]] | None) -> AsyncIterator[bytes]:
        messages: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": message}]
        while True:
            text: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
            async for delta in retried(messages, tools):
                content = delta.get("content")
                if content:
                    text.append(content)
                    yield sse("message.delta", {"delta": content})
                fold_tool_calls(calls, delta)
            answer = "".join(text)
            if not calls:
                yield sse("run.finished", {"answer": answer})
                return
            ordered = [calls[i] for i in sorted(calls)]
            messages.append({"role": "assistant", "content": answer or None, "tool_calls": ordered})
            for call in ordered:
                result = str(add_numbers(**json.loads(call["function"]["arguments"])))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
                yield sse("tool.result", {"tool_call_id": call["id"], "content": result})

    async def chat(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return JSONResponse({"error": "message must be a string"}, status_code=400)
        offered = body.get("available_tools") or []
        tools = [ADD_TOOL] if isinstance(offered, list) and "add" in offered else None
        return StreamingResponse(relay(message, tools), media_type="text/event-stream")

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with llm:
            yield

    return Starlette(
        routes=[
            Route("/api/v1/chat", chat, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    app = create_relay(os.environ["SAGE_LLM_BASE_URL"], os.environ["SAGE_LLM_MODEL"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The same HTTP stack as the Sage server: sage serve's uvicorn
    # configuration (its h11 protocol, limits), from the same SAGE_HTTP_* settings.
    config = uvicorn_config(app, Settings(), "127.0.0.1", port)
    profile_from_env("relay")
    record_from_env("relay")
    print(f"URL http://127.0.0.1:{port}", flush=True)
    run_server(config, [sock])


if __name__ == "__main__":
    main()
