"""Run an ASGI app under uvicorn on loopback, in a background thread.

End-to-end tests need a real server (real sockets, real SSE framing) but must
not depend on a free fixed port or on the test's own event loop: the server
gets its own thread and loop, and a socket bound before start-up so the port
is known (and already listening) by the time ``start()`` returns.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


class ServerThread:
    """``start()`` → ``http://host:port``; ``stop()`` shuts down and joins."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        lifespan: Literal["auto", "on", "off"] = "auto",
        startup_timeout_s: float = 10.0,
        shutdown_timeout_s: float = 5.0,
        graceful_shutdown_s: int = 1,
    ) -> None:
        """``graceful_shutdown_s`` bounds how long ``stop()`` lets open
        responses (a stream a test abandoned) finish before they are cancelled."""
        self._app = app
        self._host = host
        self._requested_port = port
        self._log_level = log_level
        self._lifespan = lifespan
        self._startup_timeout_s = startup_timeout_s
        self._shutdown_timeout_s = shutdown_timeout_s
        self._graceful_shutdown_s = graceful_shutdown_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str:
        """Start and wait until uvicorn accepts connections; returns the URL root.

        Raises ``RuntimeError`` (chained to the cause) when start-up fails, e.g.
        the app's lifespan raised, and ``TimeoutError`` when it takes too long.
        """
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            host=self._host,
            port=self._port,
            log_level=self._log_level,
            access_log=False,
            lifespan=self._lifespan,
            timeout_graceful_shutdown=self._graceful_shutdown_s,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"uvicorn-{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()

        deadline = time.monotonic() + self._startup_timeout_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the server for {self.url} failed to start") from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"the server for {self.url} did not start within {self._startup_timeout_s:g} s"
                )
            thread.join(0.005)
        return self.url

    def stop(self) -> None:
        """Shut down and join the thread; safe to call twice or before ``start``."""
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        server.should_exit = True
        thread.join(self._shutdown_timeout_s)
        if thread.is_alive():
            server.force_exit = True
            thread.join(self._shutdown_timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"the server for {self.url} did not stop")

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit from a failed lifespan included
            self._error = exc
        finally:
            sock.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
