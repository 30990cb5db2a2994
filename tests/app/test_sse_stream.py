"""The SSE response: frames, pings, and its end however the client or server
stops, with one helper task per stream (``app.sse.EventStream``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sse_starlette.sse import AppStatus
from starlette.types import Message

from app.sse import EventStream, StreamExit, frames
from sagents.events import MessageDelta, stamp
from sagents.settings import Settings


def _settings(ping_s: float = 60.0, send_timeout_s: float = 60.0) -> Settings:
    return Settings(_env_file=None, sse_ping_s=ping_s, sse_send_timeout_s=send_timeout_s)


class _Client:
    """The ASGI side: records what was sent; disconnects when told. Each send
    after the response's start takes ``send_s`` (a client reading slowly)."""

    def __init__(self, send_s: float = 0.0) -> None:
        self.sent: list[Message] = []
        self.send_s = send_s
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.send_s and self.sent:
            await asyncio.sleep(self.send_s)
        self.sent.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent)


def _scope(exits: StreamExit | None = None, method: str = "POST") -> dict[str, Any]:
    class State:
        sse_exit = exits

    class App:
        state = State()

    return {"type": "http", "method": method, "path": "/api/v1/chat", "app": App()}


async def _chunks(*chunks: bytes, then_wait: bool = False) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if then_wait:
        await asyncio.Event().wait()


class _Closed:
    def __init__(self) -> None:
        self.completed: list[bool] = []

    def __call__(self, completed: bool) -> None:
        self.completed.append(completed)


async def _batches(n: int, then_wait: bool = False) -> AsyncIterator[list[Any]]:
    for i in range(n):
        yield [stamp(MessageDelta(message_id="m", delta=f"w{i}"), i + 1, "s", "r", "", None, None)]
    if then_wait:
        await asyncio.Event().wait()


async def test_the_frames_then_a_complete_response() -> None:
    client = _Client()
    response = EventStream(_chunks(b"a", b"b"), _settings(), headers={"X-Run-Id": "r"})
    await response(_scope(), client.receive, client.send)
    assert client.sent[0]["type"] == "http.response.start"
    assert (b"x-run-id", b"r") in client.sent[0]["headers"]
    assert (b"content-type", b"text/event-stream; charset=utf-8") in client.sent[0]["headers"]
    assert client.body == b"ab"
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_one_helper_task_per_stream_and_none_left_after() -> None:
    before = len(asyncio.all_tasks())
    client = _Client()
    gate = asyncio.Event()

    async def content() -> AsyncIterator[bytes]:
        yield b"x"
        await gate.wait()

    serving = asyncio.create_task(
        EventStream(content(), _settings())(_scope(), client.receive, client.send)
    )
    await asyncio.sleep(0.05)
    assert len(asyncio.all_tasks()) - before == 2  # the stream's own task and its listener
    gate.set()
    await serving
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before


async def test_a_client_that_leaves_ends_the_stream_and_its_generator() -> None:
    client = _Client()
    closed = _Closed()
    response = EventStream(frames(_batches(2, then_wait=True), closed), _settings())
    serving = asyncio.create_task(response(_scope(), client.receive, client.send))
    await asyncio.sleep(0.05)
    client.gone.set()
    await asyncio.wait_for(serving, 2)
    assert closed.completed == [False]  # a `cancel` run would be cancelled
    assert b"id: 2" in client.body


async def test_pings_while_nothing_happens() -> None:
    client = _Client()
    response = EventStream(_chunks(b"a", then_wait=True), _settings(ping_s=0.05))
    serving = asyncio.create_task(response(_scope(), client.receive, client.send))
    await asyncio.sleep(0.3)
    client.gone.set()
    await asyncio.wait_for(serving, 2)
    assert client.body.count(b": ping - ") >= 3


async def test_a_client_that_reads_nothing_is_dropped() -> None:
    client = _Client(send_s=30)
    closed = _Closed()
    response = EventStream(frames(_batches(1), closed), _settings(send_timeout_s=0.2))
    started = time.monotonic()
    await asyncio.wait_for(response(_scope(), client.receive, client.send), 5)
    assert time.monotonic() - started < 3
    assert closed.completed == [False]


async def test_the_exit_signal_ends_every_stream_with_a_complete_response() -> None:
    exits = StreamExit()
    clients = [_Client(), _Client()]
    closed = [_Closed(), _Closed()]
    serving = [
        asyncio.create_task(
            EventStream(frames(_batches(1, then_wait=True), c), _settings())(
                _scope(exits), client.receive, client.send
            )
        )
        for client, c in zip(clients, closed, strict=True)
    ]
    await asyncio.sleep(0.05)
    AppStatus.should_exit = True
    try:
        await asyncio.wait_for(asyncio.gather(*serving), 5)
    finally:
        AppStatus.should_exit = False
    for client, c in zip(clients, closed, strict=True):
        assert c.completed == [False]
        assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    client = _Client()
    response = EventStream(_chunks(b"a", then_wait=True), _settings())
    serving = asyncio.create_task(response(_scope(), client.receive, client.send))
    await asyncio.sleep(0.05)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):  # not swallowed as a client leaving
        await serving


async def test_head_gets_the_headers_and_no_stream() -> None:
    client = _Client()
    await EventStream(_chunks(b"a", then_wait=True), _settings())(
        _scope(method="HEAD"), client.receive, client.send
    )
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
    assert client.body == b""
