"""SSE frames are built from the event's shared JSON, in sse-starlette's layout;
the send timeout holds with one timer per stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sse_starlette import ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message

from app.sse import _SendGuard, frames, to_frame
from sagents.events import EventBase, MessageDelta, parse_stored, stamp


def test_a_frame_is_what_sse_starlette_would_encode() -> None:
    event = stamp(
        MessageDelta(message_id="m", delta='a "quoted"\nline'), 5, "s", "r", "", None, None
    )
    expected = ServerSentEvent(data=event.model_dump_json(), event=event.type, id="5").encode()
    assert to_frame(event) == expected


async def test_every_stream_sends_the_one_shared_text() -> None:
    # Stored with spacing a fresh dump would not have: a frame holding it
    # verbatim was built from the shared text, not from a dump of its own.
    stored = '{"type": "message.delta",  "seq": 1, "run_id": "r", "message_id": "m", "delta": "x"}'
    event = parse_stored(stored)

    async def batches() -> AsyncIterator[list[EventBase]]:
        yield [event]

    for _ in range(2):  # two readers of the same event
        sent = b"".join([chunk async for chunk in frames(batches())])
        assert sent == f"id: 1\r\nevent: message.delta\r\ndata: {stored}\r\n\r\n".encode()


class _Socket:
    """An ASGI send whose writes take ``seconds`` each (a client reading
    slowly), or the given times in turn, the last one for the rest."""

    def __init__(self, *seconds: float) -> None:
        self.seconds = list(seconds)
        self.sent = 0

    async def send(self, message: Message) -> None:
        delay = self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]
        await asyncio.sleep(delay)
        self.sent += 1


async def test_slow_sends_that_each_return_in_time_are_not_dropped() -> None:
    # Six sends of 0.2 s: 1.2 s in all, each well inside the 0.5 s timeout.
    socket = _Socket(0.2)
    guard = _SendGuard(socket.send, 0.5)
    for _ in range(6):
        await guard.send({"type": "http.response.body"})
    guard.close()
    assert socket.sent == 6


async def test_a_send_that_does_not_return_in_time_is_dropped() -> None:
    guard = _SendGuard(_Socket(30).send, 0.3)
    started = time.monotonic()
    with pytest.raises(SendTimeoutError):
        await guard.send({"type": "http.response.body"})
    assert time.monotonic() - started < 3
    with pytest.raises(SendTimeoutError):  # and stays dropped
        await guard.send({"type": "http.response.body"})
    guard.close()


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    guard = _SendGuard(_Socket(30).send, 60)
    sending = asyncio.ensure_future(guard.send({"type": "http.response.body"}))
    await asyncio.sleep(0.05)
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    guard.close()


async def test_a_stalled_send_beside_one_that_returns_is_still_dropped() -> None:
    """A keep-alive ping may send beside an event: the ping returning must
    not hide the event's send that is stuck."""
    socket = _Socket(30, 0.05)  # the first send sticks, the next one returns
    guard = _SendGuard(socket.send, 0.4)
    stuck = asyncio.ensure_future(guard.send({"type": "http.response.body"}))
    await asyncio.sleep(0.1)
    await guard.send({"type": "http.response.body"})
    assert socket.sent == 1
    with pytest.raises(SendTimeoutError):
        await asyncio.wait_for(stuck, 5)
    guard.close()
