"""The 1,000-stream client (``bench.stream_client``) reads a real socket:
a chunked body however the writes cut it (a chunk's size line, a frame and a
CRLF split across writes), a sized body, the session header; a status other
than 200 and a connection closed mid-body are errors, not a short trace.
And it reads a real uvicorn + Starlette stream as the scenario's servers send it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bench.stream_client import StreamError, stream_chat
from sagents.testing.serve import ServerThread
from tests.bench.test_sse_client import frames

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


def chunked(body: bytes, size: int) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


async def serve_once(answer: Writer) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        await answer(writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def in_pieces(data: bytes, size: int) -> Writer:
    async def write(writer: asyncio.StreamWriter) -> None:
        for i in range(0, len(data), size):
            writer.write(data[i : i + size])
            await writer.drain()
            await asyncio.sleep(0.001)  # separate reads on the client's side

    return write


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-session-id: s1\r\n"


@pytest.mark.parametrize("sep", ["\r\n", "\n"])
@pytest.mark.parametrize(("chunk", "write"), [(5, 3), (7, 1), (10_000, 10_000)])
async def test_a_chunked_stream_is_read_however_it_is_cut(sep: str, chunk: int, write: int) -> None:
    data = HEAD + b"transfer-encoding: chunked\r\n\r\n" + chunked(frames(sep), chunk)
    server, url = await serve_once(in_pieces(data, write))
    async with server:
        trace = await stream_chat(url, {"message": "hi"})
    assert trace.types == ["run.started", "message.delta", "message.delta", "run.finished"]
    assert len(trace.delta_times) == 3
    assert trace.last == {"answer": "w0 w1 w2"}
    assert trace.session_id == "s1"


async def test_a_sized_body_is_read_to_its_length() -> None:
    body = frames("\n")
    data = HEAD + b"content-length: %d\r\n\r\n%s" % (len(body), body)
    server, url = await serve_once(in_pieces(data, 9))
    async with server:
        trace = await stream_chat(url, {"message": "hi"})
    assert trace.terminal == "run.finished" and len(trace.delta_times) == 3


async def test_a_status_other_than_200_is_an_error() -> None:
    data = b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\n\r\n{}"
    server, url = await serve_once(in_pieces(data, 100))
    async with server:
        with pytest.raises(StreamError, match="409"):
            await stream_chat(url, {"message": "hi"})


async def test_a_connection_closed_mid_body_is_an_error() -> None:
    data = HEAD + b"transfer-encoding: chunked\r\n\r\n" + chunked(frames("\n"), 20)[:60]
    server, url = await serve_once(in_pieces(data, 100))
    async with server:
        with pytest.raises(StreamError, match="closed mid-response"):
            await stream_chat(url, {"message": "hi"})


async def test_it_reads_a_uvicorn_stream() -> None:
    async def chat(request: Request) -> StreamingResponse:
        payload = await request.json()

        async def events() -> AsyncIterator[bytes]:
            for word in payload["message"].split():
                data = json.dumps({"delta": word})
                yield f"event: message.delta\r\ndata: {data}\r\n\r\n".encode()
                await asyncio.sleep(0.005)
            yield b'event: run.finished\r\ndata: {"answer": "done"}\r\n\r\n'

        return StreamingResponse(events(), media_type="text/event-stream")

    server = ServerThread(Starlette(routes=[Route("/api/v1/chat", chat, methods=["POST"])]))
    url = server.start()
    try:
        trace = await stream_chat(url, {"message": "a b c d"})
    finally:
        server.stop()
    assert trace.types == ["message.delta"] * 4 + ["run.finished"]
    assert len(trace.delta_times) == 4 and trace.delta_times == sorted(trace.delta_times)
    assert trace.delta_times[-1] - trace.delta_times[0] >= 0.01  # timed as they came
