"""The Sage HTTP service with the benchmark's ``add`` tool, for a subprocess.

``python -m bench.server`` reads ``SAGE_*`` settings from the environment the
parent gave it (the parent points them at the bench mock), binds a free
loopback port, prints ``URL <url>`` and serves ``create_app`` under uvicorn
exactly as ``sage serve`` does, plus the one tool the scenarios need.
"""

from __future__ import annotations

import socket

import uvicorn

from app.main import create_app
from bench.tools import add_tools
from sagents.settings import Settings


def main() -> None:
    settings = Settings()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, tools=add_tools()),
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=2,
    )
    print(f"URL http://127.0.0.1:{port}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
