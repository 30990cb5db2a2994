"""The Sage service in a child process, and the peak of its resident memory.

Memory tests need the server on its own: measured inside the test process,
the test's own allocations (and the mock LLM's) would be counted too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(data_dir: Path, port: int, llm_url: str, **settings: str) -> subprocess.Popen[bytes]:
    """``sage serve`` on ``port``; ``settings`` are extra ``SAGE_*`` variables."""
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
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
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


class PeakRss:
    """Samples a process's RSS every few milliseconds in a thread, from
    ``start()`` to ``stop()``; ``growth`` is the peak minus the first sample."""

    def __init__(self, pid: int, interval_s: float = 0.005) -> None:
        self._process = psutil.Process(pid)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.baseline = 0
        self.peak = 0

    def start(self) -> PeakRss:
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.growth

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(self._interval_s)
