"""Child processes of a benchmark run: the mock LLM and the Sage server.

Each child prints one line naming its URL once its socket is bound; the
parent waits for that line (bounded), then for a health check, and kills the
child when the scenario ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx2

REPO = Path(__file__).resolve().parent.parent


class Child:
    """``python -m <module>`` as a child; ``start()`` returns its URL."""

    def __init__(self, module: str, prefix: str, env: dict[str, str] | None = None) -> None:
        self.module = module
        self.prefix = prefix
        self.env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.module} is not started")
        return self.proc.pid

    async def start(self, health_path: str, timeout_s: float = 30.0) -> str:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.proc = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", self.module],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout_s)
        if not line.startswith(self.prefix + " "):
            self.stop()
            raise RuntimeError(f"{self.module} did not start (said {line!r})")
        self.url = line.split(" ", 1)[1].strip()
        root = self.url.removesuffix("/v1")
        deadline = time.monotonic() + timeout_s
        async with httpx2.AsyncClient(timeout=2) as http:
            while True:
                try:
                    if (await http.get(root + health_path)).status_code == 200:
                        return self.url
                except httpx2.HTTPError:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{self.module} never became healthy at {root}")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def rss_kib(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of a process in KiB, from /proc (Linux)."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key = line.split(" ", 1)[0].split("\t", 1)[0]
            if key in values:
                values[key] = int(line.split()[1])
    return values["VmRSS:"], values["VmHWM:"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
