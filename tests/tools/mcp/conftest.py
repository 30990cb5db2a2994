"""Real MCP servers for the tests: the demo server over stdio, SSE and
streamable HTTP (subprocesses on loopback ports), and helpers around them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from sagents.events import EventBase
from sagents.request import RunRequest
from sagents.sagent import SAgent

DEMO = Path(__file__).parent / "servers" / "demo.py"


def stdio_entry(**extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(DEMO), "stdio"], **extra}


def write_settings(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def live_children(marker: str = str(DEMO)) -> set[int]:
    """Our running descendant processes whose command line holds ``marker``
    (the demo MCP server by default; zombies excluded). Filtered, because
    other parts of a Runtime start short-lived children of their own (the
    sandbox's start-up probe) whose timing must not decide these tests."""
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and marker in " ".join(child.cmdline()):
                out.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return out


def simple(message: str, **fields: Any) -> RunRequest:
    """A request on the simple path (no router turn to script)."""
    return RunRequest(message=message, deep_thinking=False, multi_agent=False, **fields)


async def collect(agent: SAgent, request: RunRequest, user: str = "u1") -> list[EventBase]:
    return [e async for e in agent.run_stream(request, user)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"demo MCP server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"demo MCP server did not listen on {port}")


HttpDemo = Callable[[str], str]


@pytest.fixture(scope="module")
def http_demo() -> Iterator[HttpDemo]:
    """``http_demo("sse" | "streamable-http")`` → the server's URL.

    One server per kind and test module: starting one takes seconds.
    """
    started: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}

    def start(kind: str) -> str:
        if kind in urls:
            return urls[kind]
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, str(DEMO), kind, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        _wait_for_port(port, process)
        path = "/sse" if kind == "sse" else "/mcp"
        urls[kind] = f"http://127.0.0.1:{port}{path}"
        return urls[kind]

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
