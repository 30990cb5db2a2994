"""The floors every scenario is compared with: the same LLM calls made by hand,
and the tool called by hand, with no framework in between.

``DirectClient`` is the baseline the targets are set against: the raw openai
SDK (``AsyncOpenAI``, SDK retries off). ``LeanDirectClient`` makes the same
calls over a bare httpx2 stream with ``json.loads`` per chunk, which is how
``OpenAIChatModel`` itself reads the wire since it stopped paying the SDK's
per-chunk model building; Sage's ratio to it is what orchestration alone
costs. Both use the same transport settings (an httpx2 pool sized for the
concurrency) so neither comparison measures a different connection setup.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, cast

import httpx2
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from bench.tools import add, add_numbers

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
ADD_TOOL = add.openai_tool()

OnToken = Callable[[str], None]


def request_params(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        params["tools"] = tools
    return params


def add_call_fragment(
    calls: dict[int, dict[str, Any]],
    index: int,
    call_id: str | None,
    name: str | None,
    arguments: str | None,
) -> None:
    """Fold one streamed tool-call fragment into the calls being assembled."""
    entry = calls.setdefault(
        index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
    )
    if call_id:
        entry["id"] = call_id
    if name:
        entry["function"]["name"] = name
    entry["function"]["arguments"] += arguments or ""


class DirectClient:
    """The raw openai SDK."""

    label = "direct"

    def __init__(self, base_url: str, *, max_connections: int = 1100) -> None:
        self.http = httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(120.0, connect=10.0),
        )
        self.client = AsyncOpenAI(
            api_key="bench", base_url=base_url, max_retries=0, http_client=self.http
        )

    async def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        on_token: OnToken | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """One streamed completion: ``(text, tool_calls)`` in the OpenAI message shape."""
        params = request_params(model, messages, tools)
        stream = cast(
            "AsyncStream[ChatCompletionChunk]",
            await self.client.chat.completions.create(**params),
        )
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        async for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                text.append(delta.content)
                if on_token is not None:
                    on_token(delta.content)
            for call in delta.tool_calls or []:
                fn = call.function
                add_call_fragment(
                    calls,
                    call.index,
                    call.id,
                    fn.name if fn else None,
                    (fn.arguments or "") if fn else "",
                )
        return "".join(text), [calls[i] for i in sorted(calls)]

    async def tool_turn(
        self, model: str, history: list[dict[str, Any]], question: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """User message → tool call → ``add`` by hand → streamed answer.

        Returns the answer and the conversation's new messages.
        """
        new: list[dict[str, Any]] = [{"role": "user", "content": question}]
        text, calls = await self.stream(model, [SYSTEM, *history, *new], [ADD_TOOL])
        new.append({"role": "assistant", "content": text or None, "tool_calls": calls})
        for call in calls:
            args = json.loads(call["function"]["arguments"])
            result = add_numbers(**args)
            new.append({"role": "tool", "tool_call_id": call["id"], "content": str(result)})
        answer, _ = await self.stream(model, [SYSTEM, *history, *new], [ADD_TOOL])
        new.append({"role": "assistant", "content": answer})
        return answer, new

    async def aclose(self) -> None:
        await self.client.close()

    async def __aenter__(self) -> DirectClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class LeanDirectClient(DirectClient):
    """The same calls over a bare httpx2 stream: ``data:`` lines, ``json.loads``."""

    label = "lean direct"

    def __init__(self, base_url: str, *, max_connections: int = 1100) -> None:
        super().__init__(base_url, max_connections=max_connections)
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}

    async def deltas(
        self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> AsyncIterator[dict[str, Any]]:
        """The ``delta`` of every chunk, as it arrives (the relay forwards them)."""
        body = json.dumps(request_params(model, messages, tools)).encode()
        async with self.http.stream("POST", self.url, content=body, headers=self.headers) as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[5:]).get("choices")
                if choices:
                    yield choices[0].get("delta") or {}

    async def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        on_token: OnToken | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        async for delta in self.deltas(model, messages, tools):
            content = delta.get("content")
            if content:
                text.append(content)
                if on_token is not None:
                    on_token(content)
            fold_tool_calls(calls, delta)
        return "".join(text), [calls[i] for i in sorted(calls)]


def fold_tool_calls(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    """Fold the tool-call fragments of one wire delta (a plain dict) into ``calls``."""
    for call in delta.get("tool_calls") or []:
        fn = call.get("function") or {}
        add_call_fragment(calls, call["index"], call.get("id"), fn.get("name"), fn.get("arguments"))
