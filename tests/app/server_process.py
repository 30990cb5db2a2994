"""The Sage service in a child process, for tests that measure its memory
(``tests.rss``): measured inside the test process, the test's own allocations
(and the mock LLM's) would be counted too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(
    data_dir: Path, port: int, llm_url: str, log: Path | None = None, **settings: str
) -> subprocess.Popen[bytes]:
    """``sage serve`` on ``port``; ``settings`` are extra ``SAGE_*`` variables.

    Its stderr is a pipe unless ``log`` names a file: a busy server writes
    more than a pipe holds, and a full pipe would stall it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")} | {
        "SAGE_DATA_DIR": str(data_dir),
        "SAGE_LLM_BASE_URL": llm_url,
        "SAGE_LLM_MODEL": "mock",
        "SAGE_LLM_API_KEY": "k",
        "SAGE_MEMORY_EXTRACT": "false",
        "SAGE_MEMORY_ENABLED": "false",
        "SAGE_SKILLS_BUNDLED_DIR": str(data_dir / "no-skills"),
        "SAGE_MCP_SETTINGS_PATH": "",
        **settings,
    }
    err = subprocess.PIPE if log is None else log.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    finally:
        if not isinstance(err, int):
            err.close()  # the child has its own copy


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Until ``/healthz`` answers. Generous: a start takes ~3 s idle, but
    over 15 s on a loaded 2-core machine."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx2.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
