"""Serving the app with uvicorn, with limits on what one client can hold.

``sage serve`` builds its uvicorn configuration here from the ``SAGE_HTTP_*``
settings: a cap on open connections (``limit_concurrency``: more get 503),
the listen backlog, the keep-alive idle timeout, how long shutdown waits for
open responses, and the size of a request's head. Two things uvicorn does not
do by itself:

- It caps a request's head only partly: httptools (picked when installed)
  not at all, and h11 only while the head is incomplete
  (``h11_max_incomplete_event_size``), so a 200 kB head that arrives in one
  read passes. ``guarded_h11_protocol`` counts the head's bytes itself and
  answers 431 past ``SAGE_HTTP_MAX_HEADER_BYTES``.
- It arms its keep-alive timer only after a response, so a client that
  connects and sends nothing, or dribbles its headers a byte at a time
  (slowloris), holds a connection forever. ``guarded_h11_protocol`` closes
  a connection whose request head is not complete within
  ``SAGE_HTTP_HEADER_TIMEOUT_S`` of its first byte (or of the connection).

A slow *body* is the app's business (``app.body_limit``: 408), and so is a
client that stops reading a stream (``app.sse``: the send timeout).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.errors import error_body
from app.serving_gc import tune_for_serving
from sagents.settings import Settings

log = logging.getLogger(__name__)
_HEAD_END = re.compile(rb"\n\r?\n")
"""Where a request head ends, as h11 finds it."""


def guarded_h11_protocol(max_head_bytes: int, head_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, with a cap on the request head's size and a
    deadline for it to arrive."""

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _head = b""
        """The current request head so far (at most the cap and its end)."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._start_head()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                if self._head_timer is None:
                    self._start_head()  # the next request on a kept-alive connection
                self._head += data[: max_head_bytes + 4 - len(self._head)]
                end = _HEAD_END.search(self._head)
                if (end.end() if end else len(self._head)) > max_head_bytes:
                    self._refuse_head()
                    return
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._stop_head()  # the head is complete (or the connection is done)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head()
            super().connection_lost(exc)

        def _start_head(self) -> None:
            self._head = b""
            self._head_timer = self.loop.call_later(head_timeout_s, self._head_too_late)

        def _stop_head(self) -> None:
            self._head = b""
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_late(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                # debug: browsers open idle connections ahead of need (preconnect)
                log.debug("closed a connection whose request head took over %g s", head_timeout_s)
                self.transport.close()

        def _refuse_head(self) -> None:
            self._stop_head()
            if not self.transport.is_closing():
                self.transport.write(_head_too_large(max_head_bytes))
                self.transport.close()

    return GuardedH11Protocol


def _head_too_large(max_head_bytes: int) -> bytes:
    message = f"the request line and headers exceed {max_head_bytes} bytes"
    body = json.dumps(error_body("headers_too_large", message)).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"connection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The configuration ``sage serve`` runs ``app`` with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        # uvicorn's loggers propagate to the root handler sage serve installs
        # (observability/logs.py): one format, run ids, redaction.
        log_config=None,
        http=guarded_h11_protocol(settings.http_max_header_bytes, settings.http_header_timeout_s),
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        limit_concurrency=settings.http_max_connections,
        backlog=settings.http_backlog,
        timeout_keep_alive=settings.http_keepalive_s,
        timeout_graceful_shutdown=settings.http_graceful_shutdown_s,
    )


def run_server(config: uvicorn.Config, sockets: list[socket.socket] | None = None) -> None:
    """Serve ``config`` in this process until it is stopped, with the
    collector tuned for a process that only serves (``app.serving_gc``)."""
    tune_for_serving()
    uvicorn.Server(config).run(sockets=sockets)
