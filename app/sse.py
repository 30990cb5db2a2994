"""Events as SSE frames: ``id: <seq>``, ``event: <type>``, ``data: <json>``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping

from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from sagents.events import EventBase
from sagents.runs.channel import EventsDropped
from sagents.settings import Settings

log = logging.getLogger(__name__)


def to_frame(event: EventBase) -> bytes:
    """The event's SSE frame, as sse-starlette's ``ServerSentEvent`` would
    encode it (CRLF line ends). Built here from the event's shared JSON
    (``as_json``: dumped once per event, not once per stream); an event's
    JSON holds no line break, and its type and seq none either, so one
    ``data:`` line is the whole frame."""
    return f"id: {event.seq}\r\nevent: {event.type}\r\ndata: {event.as_json()}\r\n\r\n".encode()


async def frames(
    batches: AsyncIterator[list[EventBase]], on_close: Callable[[bool], None] | None = None
) -> AsyncIterator[bytes]:
    """Encode a run's event batches, one write per batch; ``on_close(completed)``
    runs however the stream ends.

    Each batch is what the run published since the last write, so a burst of
    events (a tool round, a fast model) costs one ASGI send instead of one per
    event; a client reads the same frames either way. sse-starlette passes
    bytes through as they are and cancels this generator when the client
    disconnects (or stops reading, see ``EventStream``), so ``completed`` is
    False exactly when the client left before the end.
    """
    completed = False
    try:
        async for batch in batches:
            yield b"".join([to_frame(event) for event in batch])
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


class EventStream(EventSourceResponse):
    """An SSE response that gives up on a client that stops reading.

    Without a send timeout, a client that keeps the connection open but reads
    nothing blocks the stream's writes forever once the socket buffers fill,
    holding the connection and the run's subscription. With one, the write is
    abandoned after ``SAGE_SSE_SEND_TIMEOUT_S``, the event generator is closed
    (a ``cancel`` run is cancelled, as for a disconnect) and the connection is
    dropped. That is an expected end for a slow client, not a server error,
    so it is logged as one line rather than as a traceback.
    """

    def __init__(
        self,
        content: AsyncIterator[bytes],
        settings: Settings,
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> None:
        """``status_code`` is a parameter for FastAPI, which documents a route's
        success status from its response class's signature."""
        super().__init__(
            content,
            status_code=status_code,
            ping=settings.sse_ping_s,
            send_timeout=settings.sse_send_timeout_s,
            headers={"Cache-Control": "no-cache", **(headers or {})},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            log.info(
                "closed the event stream of %s: the client read nothing for %g s",
                scope.get("path"),
                self.send_timeout,
            )
