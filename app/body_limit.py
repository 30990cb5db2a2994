"""Refuse oversized or slow request bodies before they are parsed.

A pure ASGI middleware rather than a handler check: FastAPI reads and parses
the whole body before a handler runs, and an error raised from inside its
body reading comes out as a generic 400. Here the body is read up to the
limit (memory stays bounded for chunked uploads too, which announce no
``Content-Length``), then replayed to the app, or answered with a 413 that
names the limit. The whole body must arrive within ``timeout_s``, so a client
dribbling bytes cannot hold a connection and its buffer open forever (408).

A refused body is not read, but closing a connection with unread bytes makes
the kernel send a reset, and a client still uploading then sees "connection
reset" instead of the 413. So the 413 is sent first, then what the client is
still sending is read and thrown away (at most ``DRAIN_BYTES`` for at most
``DRAIN_S``; memory stays constant), then the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body

DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_S = 2.0


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float,
        path_limits: Mapping[str, int] | None = None,
        pattern_limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        """``path_limits`` gives some paths (an upload) their own cap;
        ``pattern_limits`` does so for paths matching a regular expression
        (an upload under a session's id)."""
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.path_limits = dict(path_limits or {})
        self.pattern_limits = [(re.compile(p), limit) for p, limit in pattern_limits]

    def limit_for(self, path: str) -> int:
        if path in self.path_limits:
            return self.path_limits[path]
        for pattern, limit in self.pattern_limits:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(limit, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more: object = True
        try:
            async with asyncio.timeout(self.timeout_s):
                while size <= limit and more:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away before sending its body
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            text = f"the request body did not arrive within {self.timeout_s:g} s"
            await _refuse(408, error_body("request_timeout", text), send)
            await _end(send)
            return
        if size > limit:
            await _too_large(limit, receive, send, more=more)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(limit: int, receive: Receive, send: Send, *, more: object = True) -> None:
    body = error_body("payload_too_large", f"request body exceeds {limit} bytes")
    await _refuse(413, body, send)
    if more:
        with suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                drained = 0
                while drained < DRAIN_BYTES:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    drained += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
    await _end(send)


async def _refuse(status: int, content: dict[str, object], send: Send) -> None:
    """The whole error answer but its end, which ``_end`` sends: until then
    the request's body can still be received (ASGI ends it with the answer)."""
    body = json.dumps(content).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _end(send: Send) -> None:
    await send({"type": "http.response.body", "body": b"", "more_body": False})
