"""A Chroma server of its own for each test run, started from the installed
``chromadb`` package on loopback.

chromadb 1.x ships its server in the package (the Rust frontend behind the
``chroma`` console script, ``chroma run --path … --host … --port …``). The
script is started through this interpreter (``chromadb.cli.cli.app``) rather
than by its path in ``bin/``, so the test uses the very package Sage
imports, with no download and no docker. One server serves the whole run;
tests keep apart by user ids of their own. Its data lives in a temporary
directory removed at the end of the run.

When the server cannot start, the tests that need it fail with a line
saying so: a silent skip would let a broken ``SAGE_CHROMA_URL`` path pass CI.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.app.server_process import free_port

# The console script's body: the CLI reads sys.argv whole, its name first.
_CLI = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """The server, keeping its data in ``path`` and its output in
    ``<path>.log`` (a pipe nobody reads would stall it once full)."""
    address = ["--host", "127.0.0.1", "--port", str(port)]
    with log_path(path).open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _CLI, "run", "--path", str(path), *address],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def log_path(path: Path) -> Path:
    return path.with_name(path.name + ".log")


def wait_heartbeat(
    url: str, proc: subprocess.Popen[bytes], path: Path, timeout_s: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log_path(path).read_text(errors="replace")
            pytest.fail(f"the Chroma server exited at start-up: {out[-2000:]}", pytrace=False)
        try:
            if httpx2.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the Chroma server at {url} sent no heartbeat in {timeout_s} s", pytrace=False)


@pytest.fixture(scope="session")
def chroma_url() -> Iterator[str]:
    """URL of a Chroma server on loopback, stopped (and its data removed) at the end."""
    with tempfile.TemporaryDirectory(prefix="sage-chroma-") as temp:
        data = Path(temp) / "data"
        port = free_port()
        proc = start_chroma(data, port)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_heartbeat(url, proc, data)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
