"""The OpenAI chat-completions wire format, as the mock server writes it.

Frames are built with string formatting around ``json.dumps`` of the small
per-chunk delta, never with pydantic models: the mock has to keep up with a
thousand concurrent streams in benchmarks, and the client under test is what
parses (and validates) them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sagents.llm.types import ReasoningDelta, TextDelta, ToolCallDelta
from sagents.testing.render import ContentChunk

DONE_FRAME = b"data: [DONE]\n\n"


def completion_id() -> str:
    return "chatcmpl-mock-" + uuid.uuid4().hex[:20]


def stream_frames(
    chunks: list[ContentChunk],
    *,
    model: str,
    finish_reason: str,
    usage: tuple[int, int] | None,
) -> list[bytes]:
    """Every SSE frame of one streamed completion, ``[DONE]`` included.

    One frame per content chunk (the first also carries ``role``), then the
    frame with ``finish_reason``, then the usage frame when ``usage`` is given
    (OpenAI sends it only for ``stream_options.include_usage``).
    """
    head = (
        'data: {"id":"'
        + completion_id()
        + '","object":"chat.completion.chunk","created":'
        + str(int(time.time()))
        + ',"model":'
        + json.dumps(model)
        + ',"system_fingerprint":null,"choices":'
    )
    choice_head = head + '[{"index":0,"delta":'
    choice_tail = ',"logprobs":null,"finish_reason":null}]}\n\n'
    frames: list[bytes] = []
    deltas = [_delta(chunk) for chunk in chunks] or [{"content": ""}]
    deltas[0] = {"role": "assistant", **deltas[0]}
    for delta in deltas:
        frames.append((choice_head + json.dumps(delta, ensure_ascii=False) + choice_tail).encode())
    frames.append(
        (
            choice_head
            + '{},"logprobs":null,"finish_reason":'
            + json.dumps(finish_reason)
            + "}]}\n\n"
        ).encode()
    )
    if usage is not None:
        frames.append(
            (head + "[]," + '"usage":' + json.dumps(usage_json(usage)) + "}\n\n").encode()
        )
    frames.append(DONE_FRAME)
    return frames


def completion_json(
    chunks: list[ContentChunk],
    *,
    model: str,
    finish_reason: str,
    usage: tuple[int, int],
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` carrying the same content."""
    text = "".join(chunk.text for chunk in chunks if isinstance(chunk, TextDelta))
    reasoning = "".join(chunk.text for chunk in chunks if isinstance(chunk, ReasoningDelta))
    calls: list[dict[str, Any]] = []
    for chunk in chunks:
        if not isinstance(chunk, ToolCallDelta):
            continue
        if chunk.id is not None:
            calls.append(
                {
                    "id": chunk.id,
                    "type": "function",
                    "function": {"name": chunk.name or "", "arguments": ""},
                }
            )
        elif calls:
            calls[-1]["function"]["arguments"] += chunk.arguments
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage_json(usage),
    }


def error_json(message: str, *, kind: str, code: str | None = None) -> dict[str, Any]:
    """The error body OpenAI sends, which the SDK turns into ``APIStatusError.body``."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def usage_json(usage: tuple[int, int]) -> dict[str, int]:
    prompt, completion = usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _delta(chunk: ContentChunk) -> dict[str, Any]:
    if isinstance(chunk, TextDelta):
        return {"content": chunk.text}
    if isinstance(chunk, ReasoningDelta):
        return {"reasoning_content": chunk.text}
    call: dict[str, Any] = {"index": chunk.index}
    if chunk.id is not None:
        call["id"] = chunk.id
        call["type"] = "function"
        call["function"] = {"name": chunk.name or "", "arguments": chunk.arguments}
    else:
        call["function"] = {"arguments": chunk.arguments}
    return {"tool_calls": [call]}
