"""Refuse oversized or slow request bodies before they are parsed.

A pure ASGI middleware rather than a handler check: FastAPI reads and parses
the whole body before a handler runs, and an error raised from inside its
body reading comes out as a generic 400. Here the body is read up to the
limit (memory stays bounded for chunked uploads too, which announce no
``Content-Length``), then replayed to the app, or answered with a 413 that
names the limit. The whole body must arrive within ``timeout_s``, so a client
dribbling bytes cannot hold a connection and its buffer open forever (408).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        """``path_limits`` gives some paths (an upload) their own cap."""
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away before sending its body
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await _too_large(limit)(scope, receive, send)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _too_slow(self.timeout_s)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# Both close the connection: the client may still be sending, and the rest of
# its body is not worth reading.


def _too_large(limit: int) -> JSONResponse:
    body = error_body("payload_too_large", f"request body exceeds {limit} bytes")
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


def _too_slow(timeout_s: float) -> JSONResponse:
    body = error_body("request_timeout", f"the request body did not arrive within {timeout_s:g} s")
    return JSONResponse(body, status_code=408, headers={"Connection": "close"})
