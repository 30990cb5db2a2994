"""What one client can make the app hold: a body (chunked or slow) and a
stream it stops reading. Raw sockets against the real server on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from urllib.parse import urlsplit

import httpx2
import pytest

from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer
from tests.app.test_skills_api_e2e import good, make_zip


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def read_response(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Whatever the server sends until it closes (or ``limit`` bytes)."""
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def head(path: str, host: str, *lines: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"{h}\r\n" for h in lines)
    ).encode()


async def test_a_chunked_body_over_the_cap_is_refused_before_it_ends(
    start_server: StartServer,
) -> None:
    """No Content-Length, so only counting the chunks can stop it: the body is
    never finished, so the 413 must come from the count, not from the end."""
    url = start_server(max_message_bytes=1000)
    host, port = address(url)

    def send_chunks() -> bytes:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(
                head(
                    "/api/v1/memory/search",
                    f"{host}:{port}",
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                    "",
                )
            )
            piece = b"z" * 8000
            # 9 chunks: 72 kB, just past the 1,000 + 64 kB cap; no final chunk.
            for _ in range(9):
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            return read_response(sock)

    answer = await asyncio.to_thread(send_chunks)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 "), answer[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["type"] == "payload_too_large" and "bytes" in body["error"]["message"]


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/chat"), ("PATCH", "/api/v1/mcp/x")])
async def test_a_chunked_body_in_small_pieces_is_counted_whole(
    start_server: StartServer, method: str, path: str
) -> None:
    """Small chunks, sent apart so the server receives them one by one: the
    cap is on their sum, whatever size each has, and holds for every method
    that carries a body. The body never ends, so a server that did not count
    would wait for it (and hold what it read) instead of answering 413."""
    url = start_server(max_message_bytes=1000)
    host, port = address(url)

    def send_chunks() -> bytes:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(
                head(
                    path,
                    f"{host}:{port}",
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                    "",
                ).replace(b"POST ", f"{method} ".encode(), 1)
            )
            piece = b"z" * 2000
            for _ in range(40):  # 80 kB in all, past the 1,000 + 64 kB cap
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                time.sleep(0.01)  # apart, so they arrive apart
            return read_response(sock)

    answer = await asyncio.to_thread(send_chunks)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"payload_too_large" in answer


async def test_a_body_that_dribbles_in_gets_408(start_server: StartServer) -> None:
    url = start_server(http_body_timeout_s=1.0)
    host, port = address(url)

    def dribble() -> tuple[bytes, float]:
        with socket.create_connection((host, port), timeout=20) as sock:
            sock.sendall(
                head(
                    "/api/v1/chat",
                    f"{host}:{port}",
                    "Content-Type: application/json",
                    "Content-Length: 100",
                    "",
                )
                + b'{"message": '
            )
            started = time.monotonic()
            return read_response(sock), time.monotonic() - started

    answer, waited = await asyncio.to_thread(dribble)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"request_timeout" in answer
    assert waited < 10  # the connection is closed too, not kept waiting


async def test_uploads_have_their_own_cap(start_server: StartServer) -> None:
    """A skill archive may be bigger than a chat message, up to its own cap."""
    url = start_server(max_message_bytes=1000, skill_archive_max_bytes=300_000)
    # 150 kB of base64 (6 random bits a character: ~114 kB deflated; hex,
    # 4 bits a character, deflates to ~86 kB, under what this test needs)
    asset = base64.b64encode(os.urandom(112_500)).decode()
    archive = make_zip({**good("roomy"), "roomy/assets/data.txt": asset})
    assert 100_000 < len(archive) < 300_000
    client = {"X-Sage-Client": "test"}
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        upload = await http.post(
            "/api/v1/skills", files={"file": ("roomy.zip", archive)}, headers=client
        )
        assert upload.status_code == 201, upload.text
        noise = base64.b64encode(os.urandom(450_000)).decode()  # ~450 kB deflated
        too_big = make_zip({**good("huge"), "huge/a.txt": noise})
        refused = await http.post(
            "/api/v1/skills", files={"file": ("huge.zip", too_big)}, headers=client
        )
        assert refused.status_code == 413
        chat = await http.post("/api/v1/chat", json={"message": "x" * 80_000})
        assert chat.status_code == 413


async def test_a_client_that_stops_reading_its_stream_is_dropped_and_its_run_cancelled(
    start_server: StartServer,
) -> None:
    """The model streams 40,000 tokens over 20 s (one ~300-byte event each,
    12 MB of SSE); the client reads the response head and then nothing. Once
    the socket buffers fill (~3 MB on loopback), a write blocks; after
    SAGE_SSE_SEND_TIMEOUT_S the stream is closed and, as for a disconnect,
    the run is cancelled instead of streaming on into a full buffer."""
    url = start_server(
        [Turn(text="x " * 40_000, faults={"token_delay_s": 0.0005})], sse_send_timeout_s=1.0
    )
    host, port = address(url)
    body = json.dumps({**SIMPLE, "message": "talk a lot", "on_disconnect": "cancel"}).encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    await asyncio.to_thread(sock.connect, (host, port))
    try:
        request = head(
            "/api/v1/chat",
            f"{host}:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "",
        )
        await asyncio.to_thread(sock.sendall, request + body)
        first = await asyncio.to_thread(sock.recv, 2048)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        session_id = first.split(b"x-session-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
        # ... and read nothing more.
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            status = "running"
            deadline = time.monotonic() + 15  # the model alone takes 20 s
            while status == "running" and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                detail = (await http.get(f"/api/v1/sessions/{session_id}")).json()
                status = detail["runs"][0]["status"]
            assert status == "cancelled", detail
        # The server let go of the connection: what was buffered, then the end.
        rest = await asyncio.to_thread(read_response, sock, 50 << 20)
        assert len(rest) < 10 << 20
    finally:
        sock.close()
