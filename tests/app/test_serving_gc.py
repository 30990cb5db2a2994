"""A process that serves runs with its collector tuned (``app.serving_gc``):
start-up frozen and the higher thresholds, seen from inside a real server."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from app.serving_gc import THRESHOLDS
from tests.app.server_process import free_port

SERVED = """
import gc, json, sys
from app.server import run_server, uvicorn_config
from sagents.settings import Settings

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    state = {"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(state).encode()})

run_server(uvicorn_config(app, Settings(), "127.0.0.1", int(sys.argv[1])))
"""


def test_a_served_process_freezes_start_up_and_collects_less_often(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVED, str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                state = httpx2.get(f"http://127.0.0.1:{port}/", timeout=5).json()
                break
            except httpx2.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert state["threshold"] == list(THRESHOLDS)
    assert state["threshold"] != list(gc.get_threshold())  # not this test process's
    # Start-up's objects (the imported modules at least) are frozen.
    assert state["frozen"] > 10_000
