"""Events as SSE frames: ``id: <seq>``, ``event: <type>``, ``data: <json>``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sse_starlette import ServerSentEvent

from sagents.events import EventBase


def to_frame(event: EventBase) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(), event=event.type, id=str(event.seq))


async def frames(
    events: AsyncIterator[EventBase], on_close: Callable[[bool], None] | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Encode a stream of events; ``on_close(completed)`` runs however it ends.

    sse-starlette cancels this generator when the client disconnects, so
    ``completed`` is False exactly when the client left before the end.
    """
    completed = False
    try:
        async for event in events:
            yield to_frame(event)
        completed = True
    finally:
        if on_close is not None:
            on_close(completed)
