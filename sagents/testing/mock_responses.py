"""ASGI responses the mock server needs and Starlette does not ship: streams
that stop without completing (to simulate a dropped connection), requests
that never get an answer, and streams that notice when the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sagents.testing.mock_state import MockState

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
_JSON_HEADERS = [(b"content-type", b"application/json")]


class SSEStreamResponse(Response):
    """Sends pre-built SSE frames, optionally slowly, optionally cut off.

    A cut response returns without the final empty body message; uvicorn then
    closes the connection mid-body, which the client sees exactly like a
    provider dropping the connection (an incomplete chunked read).
    """

    def __init__(
        self,
        frames: list[bytes],
        *,
        state: MockState,
        first_delay_s: float = 0.0,
        token_delay_s: float = 0.0,
        cut_after: int | None = None,
    ) -> None:
        super().__init__(status_code=200, media_type="text/event-stream")
        self._frames = frames
        self._state = state
        self._first_delay_s = first_delay_s
        self._token_delay_s = token_delay_s
        # Never let a cut include [DONE]: the client would see a clean end.
        self._cut = None if cut_after is None else min(cut_after, len(frames) - 1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        if self._first_delay_s or self._token_delay_s:
            # Slow streams watch for the client leaving, so tests can observe
            # that cancelling a run really closes the HTTP stream.
            await run_until_disconnect(self._pump(send), receive, self._state)
        else:
            await self._pump(send)

    async def _pump(self, send: Send) -> None:
        # Frames are due on a fixed schedule (first delay, then one token
        # delay apart), like a model generating at a steady rate: sleeping
        # the delay after each send would let the sleeps' overshoot pile up
        # over a long stream and be counted as the client's latency.
        loop = asyncio.get_running_loop()
        due = loop.time()
        for number, frame in enumerate(self._frames):
            if self._cut is not None and number >= self._cut:
                return
            delay = self._token_delay_s if number else self._first_delay_s
            if delay:
                due += delay
                await asyncio.sleep(max(0.0, due - loop.time()))
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class HangResponse(Response):
    """Never answers; returns once the client gives up, and counts that."""

    def __init__(self, *, state: MockState) -> None:
        super().__init__(status_code=200)
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await wait_for_disconnect(receive)
        self._state.note_disconnect()


class TruncatedJSONResponse(Response):
    """Half of a JSON body, then the connection drops."""

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200, media_type="application/json")
        self._partial = body[: max(1, len(body) // 2)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _JSON_HEADERS})
        await send({"type": "http.response.body", "body": self._partial, "more_body": True})


async def wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def run_until_disconnect(
    work: Coroutine[Any, Any, None], receive: Receive, state: MockState
) -> None:
    """Run ``work`` unless the client disconnects first; then stop it and count
    the disconnect."""
    pump = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        done, _ = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        if pump in done:
            pump.result()
        else:
            state.note_disconnect()
    finally:
        for task in (pump, watch):
            task.cancel()
        await asyncio.gather(pump, watch, return_exceptions=True)
