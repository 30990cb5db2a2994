"""The Sage HTTP service with the benchmark's ``add`` tool, for a subprocess.

``python -m bench.server`` reads ``SAGE_*`` settings from the environment the
parent gave it (the parent points them at the bench mock), binds a free
loopback port, prints ``URL <url>`` and serves ``create_app`` under uvicorn
with ``sage serve``'s own configuration (``app.server.uvicorn_config``),
plus the one tool the scenarios need and two bench-only routes that attach
and detach ``bench.store_probe`` to the running Runtime's store
(``POST /bench/store-probe/start``, ``…/stop`` answering the counts), so
the store's round trips per HTTP turn are counted in the server's own
process. ``BENCH_PROFILE=<dir>`` samples the server's
stack while it runs (``bench.sampler``); ``BENCH_TRACEMALLOC=<frames>``
adds routes that show what the memory held since a baseline was allocated by.
"""

from __future__ import annotations

import gc
import os
import socket
import tracemalloc

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from app.main import create_app
from app.server import run_server, uvicorn_config
from bench.gc_pauses import record_from_env
from bench.sampler import profile_from_env
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


def add_tracemalloc_routes(app: FastAPI) -> None:
    """``POST /bench/tracemalloc/start`` takes a baseline snapshot; ``…/diff``
    answers the top allocations since, grouped by traceback (memory held
    by live streams, when they are taken around a load). Only with
    ``BENCH_TRACEMALLOC=<frames>`` set, which starts tracing at that depth."""
    baseline: list[tracemalloc.Snapshot] = []

    async def start(request: Request) -> JSONResponse:
        gc.collect()
        baseline[:] = [tracemalloc.take_snapshot()]
        return JSONResponse({"ok": True})

    async def diff(request: Request) -> PlainTextResponse:
        gc.collect()
        now = tracemalloc.take_snapshot()
        key = request.query_params.get("by", "traceback")
        stats = now.compare_to(baseline[0], key)
        lines = [f"total {sum(s.size_diff for s in stats) / 1024:.0f} KiB"]
        for stat in stats[: int(request.query_params.get("top", "25"))]:
            lines.append(f"\n{stat.size_diff / 1024:9.1f} KiB {stat.count_diff:7d} blocks")
            lines += [f"    {frame}" for frame in stat.traceback.format()[-16:]]
        return PlainTextResponse("\n".join(lines))

    app.add_route("/bench/tracemalloc/start", start, methods=["POST"])
    app.add_route("/bench/tracemalloc/diff", diff, methods=["POST"])


def main() -> None:
    settings = Settings()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, tools=add_tools())
    add_probe_routes(app)
    if depth := os.environ.get("BENCH_TRACEMALLOC"):
        tracemalloc.start(int(depth))
        add_tracemalloc_routes(app)
    # sage serve's own configuration (its guarded h11 protocol and limits);
    # uvicorn's defaults would pick httptools, which sage serve does not run.
    config = uvicorn_config(app, settings, "127.0.0.1", port)
    profile_from_env("server")
    record_from_env("server")
    print(f"URL http://127.0.0.1:{port}", flush=True)
    run_server(config, [sock])


if __name__ == "__main__":
    main()
