"""The bench's SSE client reads frames however the network cuts them: CRLF
(sse-starlette, Sage) or LF (the relay) line ends, a CR and its LF in
different reads, a frame split across reads; each delta's tokens counted,
the terminal event decoded, comments skipped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx2
import pytest

from bench.sse_client import chat


def frames(sep: str) -> bytes:
    events = [
        ("run.started", {"run_id": "r"}),
        ("message.delta", {"delta": "w0 w1"}),
        ("message.delta", {"delta": " w2"}),
        ("run.finished", {"answer": "w0 w1 w2"}),
    ]
    body = f": keep-alive{sep}{sep}"
    for seq, (kind, data) in enumerate(events):
        body += f"id: {seq}{sep}event: {kind}{sep}data: {json.dumps(data)}{sep}{sep}"
    return body.encode()


class Chunks(httpx2.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self.parts = [body[i : i + size] for i in range(0, len(body), size)]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


@pytest.mark.parametrize("sep", ["\r\n", "\n"])
@pytest.mark.parametrize("size", [1, 7, 10_000])
async def test_frames_are_read_however_the_reads_cut_them(sep: str, size: int) -> None:
    body = frames(sep)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"x-session-id": "s1"}, stream=Chunks(body, size))

    async with httpx2.AsyncClient(
        transport=httpx2.MockTransport(handler), base_url="http://bench"
    ) as http:
        trace = await chat(http, {"message": "hi"}, parse=False)
    assert trace.types == ["run.started", "message.delta", "message.delta", "run.finished"]
    assert len(trace.delta_times) == 3
    assert trace.last == {"answer": "w0 w1 w2"}
    assert trace.session_id == "s1"
