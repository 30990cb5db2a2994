"""``sage serve``'s connection limits, on the real command: header size, a
deadline for the request head (slowloris), idle keep-alive, open connections."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from tests.app.server_process import free_port, wait_ready

LIMITS = {
    "SAGE_HTTP_MAX_HEADER_BYTES": "4096",
    "SAGE_HTTP_HEADER_TIMEOUT_S": "1",
    "SAGE_HTTP_KEEPALIVE_S": "1",
}


@contextmanager
def serve(tmp: Path, **env: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=clean
        | {
            "SAGE_DATA_DIR": str(tmp),
            "SAGE_MEMORY_ENABLED": "false",
            "SAGE_SKILLS_BUNDLED_DIR": str(tmp / "no-skills"),
            "SAGE_MCP_SETTINGS_PATH": "",
        }
        | env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with serve(tmp_path_factory.mktemp("serve-limits"), **LIMITS) as address:
        yield address


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Read until the server closes; how long that took."""
    started, data = time.monotonic(), b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def test_a_request_head_over_the_cap_is_refused(limited: tuple[str, int]) -> None:
    host, port = limited
    url = f"http://{host}:{port}"
    assert httpx2.get(f"{url}/healthz", headers={"X-Pad": "a" * 2000}).status_code == 200
    # A body is not part of the head: 200 kB of it are no reason for a 431.
    posted = httpx2.post(f"{url}/api/v1/memory/search", content=b"{" * 200_000)
    assert posted.status_code != 431
    big = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Pad: {'a' * 8000}\r\n\r\n".encode()
    for pieces in ([big], [big[:3000], big[3000:6000], big[6000:]]):
        with socket.create_connection(limited, timeout=10) as sock:
            for piece in pieces:
                sock.sendall(piece)
            answer, _ = until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert b"headers_too_large" in answer and b"4096" in answer


def test_a_head_that_dribbles_in_is_cut_off(limited: tuple[str, int]) -> None:
    """One byte every 0.2 s would take 10 s; the deadline is 1 s."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 50 + b"\r\n\r\n"
    with socket.create_connection(limited, timeout=10) as sock:
        started = time.monotonic()
        closed = False
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
            except OSError:
                closed = True
                break
            if time.monotonic() - started > 6:
                break
        if not closed:
            answer, _ = until_closed(sock)
            assert b"200" not in answer
    assert time.monotonic() - started < 8


def test_idle_connections_are_closed(limited: tuple[str, int]) -> None:
    # A connection that never sends anything ...
    with socket.create_connection(limited, timeout=10) as sock:
        answer, waited = until_closed(sock)
        assert answer == b"" and waited < 6
    # ... and one kept alive after a response.
    with socket.create_connection(limited, timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer, waited = until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 200") and waited < 6


def test_connections_over_the_cap_get_503(tmp_path: Path) -> None:
    with serve(tmp_path, SAGE_HTTP_MAX_CONNECTIONS="3") as (host, port):
        held = [socket.create_connection((host, port), timeout=10) for _ in range(3)]
        try:
            time.sleep(0.2)
            response = httpx2.get(f"http://{host}:{port}/healthz", timeout=10)
            assert response.status_code == 503
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.5)
        assert httpx2.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200
