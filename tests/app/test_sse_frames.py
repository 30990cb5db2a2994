"""SSE frames are built from the event's shared JSON, in sse-starlette's layout."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import ServerSentEvent

from app.sse import frames, to_frame
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
