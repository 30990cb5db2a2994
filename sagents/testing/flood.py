"""A mock LLM that streams answers of any size without holding them.

The scripted mock (``mock_server.py``) renders a whole turn before it sends
it, which is right for ordinary answers and impossible for the ones that test
Sage's caps: a 100 MB answer would be held by the test before Sage ever saw
it, and the test's memory would hide Sage's. A ``FloodTurn`` names sizes
instead of text; its frames are generated as they are sent, and the server
counts what it sent and whether the client hung up before the end, so a test
can tell that Sage stopped reading (and the provider stopped generating).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sagents.testing.serve import ServerThread

PIECE = "lorem ipsum dolor sit amet " * 150
"""What floods are made of: 4,050 characters, so a 100 MB flood is ~25,000
frames, each as big as a real provider's largest deltas."""


class FloodTurn(BaseModel):
    """One answer: ``reasoning_chars`` of reasoning, then ``text_chars`` of
    answer, then ``text``, then (with ``tool``) one call to ``tool`` whose
    arguments are ``{"text": "<tool_args_chars characters>"}``."""

    model_config = ConfigDict(extra="forbid")

    reasoning_chars: int = Field(default=0, ge=0)
    text_chars: int = Field(default=0, ge=0)
    text: str = ""
    tool: str | None = None
    tool_args_chars: int = Field(default=0, ge=0)


@dataclass
class FloodStats:
    """What the server did, per request, in order (read from any thread)."""

    sent_bytes: list[int] = field(default_factory=list)
    hung_up: list[bool] = field(default_factory=list)
    """The client closed the connection before the response's end."""
    finished: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def flood_frames(turn: FloodTurn, model: str) -> Iterator[bytes]:
    """The SSE frames of ``turn``, made one at a time."""
    head = '{"id":"chatcmpl-flood","object":"chat.completion.chunk","created":0,"model":'
    head += json.dumps(model) + ',"choices":[{"index":0,"delta":'
    tail = ',"finish_reason":null}]}'

    def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
        end = tail if finish is None else ',"finish_reason":' + json.dumps(finish) + "}]}"
        return f"data: {head}{json.dumps(delta)}{end}\n\n".encode()

    yield frame({"role": "assistant", "content": ""})
    for piece in _pieces(turn.reasoning_chars):
        yield frame({"reasoning_content": piece})
    for piece in _pieces(turn.text_chars):
        yield frame({"content": piece})
    if turn.text:
        yield frame({"content": turn.text})
    if turn.tool is not None:
        call = {"index": 0, "id": "call_flood", "type": "function"}
        yield frame({"tool_calls": [{**call, "function": {"name": turn.tool, "arguments": ""}}]})
        yield frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"text": "'}}]})
        for piece in _pieces(turn.tool_args_chars):
            yield frame({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield frame({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    yield frame({}, "tool_calls" if turn.tool is not None else "stop")
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    yield f'data: {{"id":"chatcmpl-flood","choices":[],"usage":{json.dumps(usage)}}}\n\n'.encode()
    yield b"data: [DONE]\n\n"


def _pieces(total: int) -> Iterator[str]:
    whole, rest = divmod(total, len(PIECE))
    for _ in range(whole):
        yield PIECE
    if rest:
        yield PIECE[:rest]


class _FloodResponse(Response):
    """Sends the frames as they are made; stops when the client hangs up."""

    def __init__(self, frames: Iterator[bytes], stats: FloodStats, number: int) -> None:
        super().__init__(status_code=200, media_type="text/event-stream")
        self._frames = frames
        self._stats = stats
        self._number = number

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(_hang_up(receive))
        try:
            done, _ = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            if watch in done and not pump.done():
                with self._stats.lock:
                    self._stats.hung_up[self._number] = True
        finally:
            for task in (pump, watch):
                task.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)

    async def _pump(self, send: Send) -> None:
        for count, frame in enumerate(self._frames):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            with self._stats.lock:
                self._stats.sent_bytes[self._number] += len(frame)
            if count % 16 == 0:
                await asyncio.sleep(0)  # let the hang-up watcher run
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        with self._stats.lock:
            self._stats.finished[self._number] = True


async def _hang_up(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def create_flood_app(turns: list[FloodTurn], stats: FloodStats) -> Starlette:
    """An OpenAI-compatible ``/v1/chat/completions`` answering ``turns`` in
    order (the last one again once they run out)."""

    async def chat_completions(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": {"message": "not JSON"}}, status_code=400)
        with stats.lock:
            number = len(stats.sent_bytes)
            stats.sent_bytes.append(0)
            stats.hung_up.append(False)
            stats.finished.append(False)
        turn = turns[min(number, len(turns) - 1)]
        model = body.get("model") if isinstance(body.get("model"), str) else "flood"
        return _FloodResponse(flood_frames(turn, str(model)), stats, number)

    return Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])


class FloodLLMServer:
    """``create_flood_app`` under uvicorn on loopback, in a background thread."""

    def __init__(self, turns: list[FloodTurn]) -> None:
        if not turns:
            raise ValueError("a flood server needs at least one turn")
        self.stats = FloodStats()
        self._thread = ServerThread(create_flood_app(turns, self.stats))

    def start(self) -> str:
        """Start serving; returns the OpenAI base URL."""
        return self._thread.start() + "/v1"

    def stop(self) -> None:
        self._thread.stop()
