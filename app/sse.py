"""Events as SSE frames: ``id: <seq>``, ``event: <type>``, ``data: <json>``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sse_starlette import ServerSentEvent

from sagents.events import EventBase
from sagents.runs.channel import EventsDropped


def to_frame(event: EventBase) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(), event=event.type, id=str(event.seq))


async def frames(
    batches: AsyncIterator[list[EventBase]], on_close: Callable[[bool], None] | None = None
) -> AsyncIterator[bytes]:
    """Encode a run's event batches, one write per batch; ``on_close(completed)``
    runs however the stream ends.

    Each batch is what the run published since the last write, so a burst of
    events (a tool round, a fast model) costs one ASGI send instead of one per
    event; a client reads the same frames either way. sse-starlette passes
    bytes through as they are and cancels this generator when the client
    disconnects, so ``completed`` is False exactly when the client left
    before the end.
    """
    completed = False
    try:
        async for batch in batches:
            yield b"".join([to_frame(event).encode() for event in batch])
        completed = True
    except EventsDropped as dropped:
        # This reader fell further behind than the run log keeps. End the
        # stream (the run goes on: this is not the client leaving); its
        # resume gets 410 saying what is gone.
        completed = True
        yield f": {dropped}\n\n".encode()
    finally:
        if on_close is not None:
            on_close(completed)
