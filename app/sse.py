"""Events as SSE frames: ``id: <seq>``, ``event: <type>``, ``data: <json>``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Receive, Scope, Send

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


class _SendGuard:
    """The send timeout of one SSE response, with one timer per stream.

    The guarantee (``SAGE_SSE_SEND_TIMEOUT_S``): an ASGI send that has not
    returned after ``timeout_s`` is cancelled and raises ``SendTimeoutError``,
    so a client that stops reading is dropped. sse-starlette gives it with
    an anyio cancel scope around every send (a task look-up, a deadline and
    a timer per token on a streamed answer); here a send only notes which
    task is sending since when, and one timer, re-armed at most once per
    ``timeout_s``, checks whether a send has been waiting too long. Sends
    can overlap (a keep-alive ping beside an event), so each is tracked.
    """

    __slots__ = ("_handle", "_send", "_sending", "_stalled", "timeout_s")

    def __init__(self, send: Send, timeout_s: float | None) -> None:
        self._send = send
        self.timeout_s = timeout_s
        self._sending: dict[asyncio.Task[Any], float] = {}
        """The tasks waiting in a send now, with when they started."""
        self._stalled = False
        self._handle: asyncio.TimerHandle | None = None

    async def send(self, message: Message) -> None:
        task = asyncio.current_task()
        if self.timeout_s is None or task is None:
            await self._send(message)
            return
        if self._stalled:
            raise SendTimeoutError()
        loop = asyncio.get_running_loop()
        self._sending[task] = since = loop.time()
        if self._handle is None:
            self._handle = loop.call_at(since + self.timeout_s, self._check)
        try:
            await self._send(message)
        except asyncio.CancelledError:
            if self._stalled and task.uncancel() == 0:
                raise SendTimeoutError() from None
            raise
        finally:
            del self._sending[task]

    def _check(self) -> None:
        self._handle = None
        timeout_s = self.timeout_s
        if not self._sending or timeout_s is None:
            return  # between sends: the next one re-arms
        loop = asyncio.get_running_loop()
        due = min(self._sending.values()) + timeout_s
        if loop.time() < due:  # later sends than the one this timer was for
            self._handle = loop.call_at(due, self._check)
            return
        self._stalled = True
        for task in self._sending:
            task.cancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


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

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        """sse-starlette's one place that sends (events, pings, the end),
        which wraps each send in a cancel scope of ``send_timeout``; ``send``
        here is the ``_SendGuard``'s, which keeps the same timeout cheaper."""
        await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guard = _SendGuard(send, self.send_timeout)
        try:
            await super().__call__(scope, receive, guard.send)
        except SendTimeoutError:
            log.info(
                "closed the event stream of %s: the client read nothing for %g s",
                scope.get("path"),
                self.send_timeout,
            )
        finally:
            guard.close()
