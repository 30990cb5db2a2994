"""The OpenAI chat-completions wire format, as the mock server writes it.

Frames are built with string formatting around ``json.dumps`` of the small
per-chunk delta, never with pydantic models: the mock has to keep up with a
thousand concurrent streams in benchmarks, and the client under test is what
parses (and validates) them. Where servers differ (reasoning fields, how
tool calls are split, usage placement, keep-alive comments) the ``Dialect``
decides; ``sagents.testing.dialects`` says which server does what.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sagents.llm.types import ReasoningDelta, TextDelta, ToolCallDelta
from sagents.testing.dialects import OPENAI, Dialect
from sagents.testing.render import ContentChunk

DONE_FRAME = b"data: [DONE]\n\n"
KEEP_ALIVE_FRAME = b": keep-alive\n\n"
THINK_OPEN = ("<thi", "nk>\n")
THINK_CLOSE = ("</th", "ink>\n\n")
"""``<think>`` tags as a Qwen model on Ollama sends them inside the content,
each split over two chunks so a client's tag detection must survive a tag
cut by the network (tokenizers split such tags too)."""


def completion_id() -> str:
    return "chatcmpl-mock-" + uuid.uuid4().hex[:20]


def stream_frames(
    chunks: list[ContentChunk],
    *,
    model: str,
    finish_reason: str,
    usage: tuple[int, int] | None,
    dialect: Dialect = OPENAI,
) -> list[bytes]:
    """Every SSE frame of one streamed completion, ``[DONE]`` included.

    One frame per delta (the first also carries ``role``), then the frame with
    ``finish_reason``, then usage when ``usage`` is given: its own frame with
    empty ``choices`` (OpenAI's ``include_usage`` chunk), or on the finish
    frame for dialects that send it there.
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
    frames: list[bytes] = [KEEP_ALIVE_FRAME] * dialect.keep_alive_comments
    deltas = stream_deltas(chunks, dialect) or [{"content": ""}]
    deltas[0] = {"role": "assistant", **deltas[0]}
    for delta in deltas:
        frames.append((choice_head + json.dumps(delta, ensure_ascii=False) + choice_tail).encode())
    finish = (
        choice_head
        + '{},"logprobs":null,"finish_reason":'
        + json.dumps(dialect.finish_reason(finish_reason))
        + "}]"
    )
    if usage is not None and dialect.usage_on_finish_chunk:
        frames.append((finish + ',"usage":' + json.dumps(usage_json(usage)) + "}\n\n").encode())
    else:
        frames.append((finish + "}\n\n").encode())
        if usage is not None:
            frames.append(
                (head + "[]," + '"usage":' + json.dumps(usage_json(usage)) + "}\n\n").encode()
            )
    frames.append(DONE_FRAME)
    return frames


def stream_deltas(chunks: list[ContentChunk], dialect: Dialect) -> list[dict[str, Any]]:
    """The ``delta`` objects of a stream, shaped the dialect's way."""
    deltas: list[dict[str, Any]] = []
    thinking = False
    pending_calls: list[dict[str, Any]] = []

    def flush_calls() -> None:
        if dialect.tool_calls == "together" and pending_calls:
            deltas.append({"tool_calls": list(pending_calls)})
        else:
            deltas.extend({"tool_calls": [call]} for call in pending_calls)
        pending_calls.clear()

    for chunk in chunks:
        if isinstance(chunk, ReasoningDelta):
            if dialect.reasoning == "think_tags":
                if not thinking:
                    deltas.extend({"content": part} for part in THINK_OPEN)
                    thinking = True
                deltas.append({"content": chunk.text})
            else:
                deltas.append({dialect.reasoning: chunk.text})
            continue
        if thinking:
            deltas.extend({"content": part} for part in THINK_CLOSE)
            thinking = False
        if isinstance(chunk, TextDelta):
            flush_calls()
            deltas.append({"content": chunk.text})
        elif dialect.tool_calls == "pieces":
            deltas.append({"tool_calls": [_call_piece(chunk, dialect)]})
        else:
            _fold_call(pending_calls, chunk, dialect)
    if thinking:
        deltas.extend({"content": part} for part in THINK_CLOSE)
    flush_calls()
    return deltas


def _call_piece(chunk: ToolCallDelta, dialect: Dialect) -> dict[str, Any]:
    call: dict[str, Any] = {"index": chunk.index} if dialect.tool_call_index else {}
    if chunk.id is not None:
        call["id"] = chunk.id
        call["type"] = "function"
        call["function"] = {"name": chunk.name or "", "arguments": chunk.arguments}
    else:
        call["function"] = {"arguments": chunk.arguments}
    return call


def _fold_call(calls: list[dict[str, Any]], chunk: ToolCallDelta, dialect: Dialect) -> None:
    """Gather a call's pieces into one whole call (``whole`` and ``together``)."""
    if chunk.id is not None:
        call: dict[str, Any] = {"index": chunk.index} if dialect.tool_call_index else {}
        call.update(
            id=chunk.id,
            type="function",
            function={"name": chunk.name or "", "arguments": chunk.arguments},
        )
        calls.append(call)
    elif calls:
        calls[-1]["function"]["arguments"] += chunk.arguments


def completion_json(
    chunks: list[ContentChunk],
    *,
    model: str,
    finish_reason: str,
    usage: tuple[int, int] | None,
    dialect: Dialect = OPENAI,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` carrying the same content."""
    text = "".join(chunk.text for chunk in chunks if isinstance(chunk, TextDelta))
    reasoning = "".join(chunk.text for chunk in chunks if isinstance(chunk, ReasoningDelta))
    calls: list[dict[str, Any]] = []
    for chunk in chunks:
        if isinstance(chunk, ToolCallDelta):
            _fold_call(calls, chunk, dialect)
    for call in calls:
        call.pop("index", None)
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if reasoning and dialect.reasoning == "think_tags":
        message["content"] = f"<think>\n{reasoning}\n</think>\n\n{text}"
    elif reasoning:
        message[dialect.reasoning] = reasoning
    if calls:
        message["tool_calls"] = calls
    completion: dict[str, Any] = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": dialect.finish_reason(finish_reason),
            }
        ],
    }
    if usage is not None:
        completion["usage"] = usage_json(usage)
    return completion


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
