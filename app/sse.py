"""Events as SSE frames: ``id: <seq>``, ``event: <type>``, ``data: <json>``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.responses import Response
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


PING_TEXT = ": ping - {now}\r\n\r\n"
"""The keep-alive comment, as sse-starlette writes it (clients ignore comments)."""


class StreamExit:
    """Ends every open event stream when the server is told to stop.

    uvicorn waits for open responses (up to ``SAGE_HTTP_GRACEFUL_SHUTDOWN_S``)
    before the app's shutdown cancels the runs, and an event stream ends only
    with its run; so at the exit signal each stream is cancelled and ended
    cleanly, as sse-starlette does. It does so with one watcher task per app
    (sse-starlette's own exit watcher, which follows uvicorn's signal
    handling) instead of one task per stream. Created by ``create_app``.
    """

    def __init__(self) -> None:
        self.exiting = False
        self._streams: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def add(self, stream: asyncio.Task[Any]) -> None:
        self._streams.add(stream)
        watcher = self._watcher
        if watcher is None or watcher.done() or watcher.get_loop() is not stream.get_loop():
            self._watcher = asyncio.create_task(self._watch(), name="sage-sse-exit")

    def discard(self, stream: asyncio.Task[Any]) -> None:
        self._streams.discard(stream)

    async def _watch(self) -> None:
        await EventSourceResponse._listen_for_exit_signal()
        self.exiting = True
        for stream in list(self._streams):
            stream.cancel()


class EventStream(Response):
    """An SSE response: the event frames, keep-alive pings, and an end on a
    client that leaves, stops reading, or a server that stops.

    Written instead of sse-starlette's ``EventSourceResponse``, which runs
    four tasks per stream in an anyio task group (the stream, the ping, the
    exit signal, the disconnect listener) plus a send lock and a cancel
    scope per send: at 300 live streams that machinery held ~9 KiB per
    stream (tracemalloc, ``bench.server``'s ``BENCH_TRACEMALLOC``) and the SSE
    path was ~10 % of the server's CPU on the c=100 tool turn
    (``BENCH_PROFILE``). Here the request's own task streams, and one task
    per stream waits for the client's disconnect and sends a ping every
    ``SAGE_SSE_PING_S``; the exit signal is watched once per app
    (``StreamExit``). What it keeps of sse-starlette's behaviour:

    - a client that disconnects ends the stream at once (the event
      generator is closed: a ``cancel`` run is cancelled);
    - a client that keeps the connection open but reads nothing is dropped
      after ``SAGE_SSE_SEND_TIMEOUT_S`` (``_SendGuard``), logged as one line;
      without that, once the socket buffers fill the stream's writes would
      block forever, holding the connection and the run's subscription;
    - at the server's exit signal the stream ends with a complete response;
    - HEAD gets the headers and an empty body, never a stream.
    """

    media_type = None
    """Sent as a header instead (``__init__``): FastAPI documents a response
    class's ``media_type`` as ``{"type": "string"}``, a schema every SSE
    event would then violate (schemathesis' ST108); without it the route's
    ``text/event-stream`` content carries no schema."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        settings: Settings,
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> None:
        """``status_code`` is a parameter for FastAPI, which documents a route's
        success status from its response class's signature."""
        self.body_iterator = content
        self.status_code = status_code
        self.background = None
        self.ping_s = settings.sse_ping_s
        self.send_timeout = settings.sse_send_timeout_s
        self.init_headers(
            {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                **(headers or {}),
                "Connection": "keep-alive",
                "X-Accel-Buffering": "no",
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        if scope.get("method") == "HEAD":
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        stream = asyncio.current_task()
        assert stream is not None
        guard = _SendGuard(send, self.send_timeout)
        app = scope.get("app")
        exits: StreamExit | None = getattr(getattr(app, "state", None), "sse_exit", None)
        listener: asyncio.Task[None] | None = None
        ended: list[str] = []
        """Why the stream was cancelled from here: "left", "exit", "stalled"."""

        def on_listener_end(task: asyncio.Task[None]) -> None:
            if not ended:
                stalled = not task.cancelled() and isinstance(task.exception(), SendTimeoutError)
                ended.append("stalled" if stalled else "left")
                stream.cancel()

        complete = False
        try:
            await guard.send(start)
            listener = asyncio.create_task(self._listen(receive, guard))
            listener.add_done_callback(on_listener_end)
            if exits is not None:
                exits.add(stream)
            async for chunk in self.body_iterator:
                await guard.send({"type": "http.response.body", "body": chunk, "more_body": True})
            ended.append("done")
            listener.cancel()  # no ping after the last message
            await guard.send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        except asyncio.CancelledError:
            if exits is not None and exits.exiting and not ended:
                ended.append("exit")
            if not ended or ended[0] == "done" or stream.uncancel() > 0:
                raise  # a cancel from elsewhere stays a cancel
        except SendTimeoutError:
            ended.append("stalled")
        finally:
            if exits is not None:
                exits.discard(stream)
            if listener is not None:
                listener.remove_done_callback(on_listener_end)
                listener.cancel()
            guard.close()
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()  # its cleanup (on_close) runs however the stream ended
        if ended and ended[0] == "stalled":
            log.info(
                "closed the event stream of %s: the client read nothing for %g s",
                scope.get("path"),
                self.send_timeout,
            )
        elif ended and ended[0] == "exit" and not complete:
            # End the response cleanly for the client; best effort at shutdown.
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await guard.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _listen(self, receive: Receive, guard: _SendGuard) -> None:
        """Return when the client disconnects; ping every ``ping_s`` meanwhile.
        Raises ``SendTimeoutError`` when a ping cannot be sent in time."""
        while True:
            try:
                async with asyncio.timeout(self.ping_s):
                    message = await receive()
            except TimeoutError:
                now = datetime.now(UTC)
                ping = PING_TEXT.format(now=now).encode()
                await guard.send({"type": "http.response.body", "body": ping, "more_body": True})
                continue
            if message["type"] == "http.disconnect":
                return
