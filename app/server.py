"""Serving the app with uvicorn, with limits on what one client can hold.

``sage serve`` builds its uvicorn configuration here from the ``SAGE_HTTP_*``
settings: a cap on open connections (``limit_concurrency``: more get 503),
the listen backlog, the keep-alive idle timeout, how long shutdown waits for
open responses, and the size of a request's head. Two things uvicorn does not
do by itself:

- It picks httptools when installed, and httptools enforces no limit on the
  size of a request's headers (uvicorn's ``h11_max_incomplete_event_size``
  applies to the h11 parser only). Sage uses h11, so the cap holds: a larger
  head is answered 400 and the connection closed.
- It arms its keep-alive timer only after a response, so a client that
  connects and sends nothing, or dribbles its headers a byte at a time
  (slowloris), holds a connection forever. ``head_deadline_protocol`` closes
  a connection whose request head is not complete within
  ``SAGE_HTTP_HEADER_TIMEOUT_S`` of its first byte (or of the connection).

A slow *body* is the app's business (``app.body_limit``: 408), and so is a
client that stops reading a stream (``app.sse``: the send timeout).
"""

from __future__ import annotations

import asyncio
import logging

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from sagents.settings import Settings

log = logging.getLogger(__name__)


def head_deadline_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head is late."""

    class HeadDeadlineH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._head_timer is None and self.conn.their_state is h11.IDLE:
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # the head is complete (or the connection is done)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_timer = self.loop.call_later(timeout_s, self._head_too_late)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_late(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                log.info("closed a connection whose request head took over %g s", timeout_s)
                self.transport.close()

    return HeadDeadlineH11Protocol


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The configuration ``sage serve`` runs ``app`` with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        http=head_deadline_protocol(settings.http_header_timeout_s),
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        limit_concurrency=settings.http_max_connections,
        backlog=settings.http_backlog,
        timeout_keep_alive=settings.http_keepalive_s,
        timeout_graceful_shutdown=settings.http_graceful_shutdown_s,
    )
