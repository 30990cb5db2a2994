"""The Sage HTTP service with the benchmark's ``add`` tool, for a subprocess.

``python -m bench.server`` reads ``SAGE_*`` settings from the environment the
parent gave it (the parent points them at the bench mock), binds a free
loopback port, prints ``URL <url>`` and serves ``create_app`` under uvicorn
exactly as ``sage serve`` does, plus the one tool the scenarios need and
two bench-only routes that attach and detach ``bench.store_probe`` to the
running Runtime's store (``POST /bench/store-probe/start``, ``…/stop``
answering the counts), so the store's round trips per HTTP turn are counted
in the server's own process.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.main import create_app
from bench.store_probe import StoreProbe
from bench.tools import add_tools
from sagents.settings import Settings


def add_probe_routes(app: FastAPI) -> None:
    probe = StoreProbe()

    async def start(request: Request) -> JSONResponse:
        found = await probe.attach(request.app.state.runtime.store)
        return JSONResponse(
            {"connections": len(probe.connections)}, status_code=200 if found else 409
        )

    async def stop(request: Request) -> JSONResponse:
        counts = {
            "round_trips": probe.round_trips,
            "statements": probe.statements,
            "transactions": probe.transactions,
        }
        await probe.detach()
        return JSONResponse(counts)

    app.add_route("/bench/store-probe/start", start, methods=["POST"])
    app.add_route("/bench/store-probe/stop", stop, methods=["POST"])


def main() -> None:
    settings = Settings()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, tools=add_tools())
    add_probe_routes(app)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=2,
    )
    print(f"URL http://127.0.0.1:{port}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
