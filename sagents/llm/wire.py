"""Reading an OpenAI-compatible chat completion stream off the wire.

The openai SDK sends the request (``sagents.llm.openai_model``); its raw
response body is read here rather than through the SDK's ``AsyncStream``,
which builds a validated ``ChatCompletionChunk`` model for every streamed
token (~0.2 ms of CPU each on this project's benchmark machine, against
~6 µs for ``json.loads``). Sage reads five fields of each chunk, and at
hundreds of concurrent streams that per-token cost was most of the
process's CPU (docs/benchmarks.md). The SSE framing itself is the small
subset the chat completion stream uses: ``data:`` lines, blank-line event
boundaries, ``:`` comments (DeepSeek's ``: keep-alive``) and the ``[DONE]``
sentinel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sagents.llm.types import LLMChunk, ReasoningDelta, TextDelta, ToolCallDelta, UsageReport

DONE = b"[DONE]"
MAX_LINE_BYTES = 8 * 2**20
"""A line is held until its newline arrives; a server that never sends one
must not grow that buffer without bound."""


JSON = json.JSONDecoder()
"""``json.loads`` less its per-call work: on bytes it first sniffs the encoding
in Python (UTF-16 and UTF-32 JSON; an event stream is UTF-8 by definition),
then looks up its default decoder (~1 µs per chunk measured here, of ~3).
A decoder holds only its options, so one serves every stream."""


class WireError(Exception):
    """The stream is not a well-formed chat completion stream."""


class ProviderStreamError(Exception):
    """The provider reported an error inside the stream (``{"error": …}``)."""


async def sse_batches(pieces: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """The ``data`` of the server-sent events before ``[DONE]``, grouped by
    the network read that completed them (never an empty group).

    Reads the body as bytes and splits lines itself: httpx's ``aiter_lines``
    adds a text decoder and a line decoder, two more generator layers on
    every chunk of every stream. Multi-line data is joined with newlines as
    the SSE spec says; ``event``, ``id`` and ``retry`` fields carry nothing
    Sage needs and are skipped.
    """
    data: list[bytes] = []
    buffer = b""
    done = False
    async for piece in pieces:
        if done:
            # Read on to the end of the body rather than stop at [DONE]: a
            # response closed before its end takes its connection with it,
            # and every call would pay a new TCP connect. Servers end the
            # body right after [DONE], so this costs nothing in practice.
            continue
        if (
            not buffer
            and piece.startswith(b"data: ")
            and piece.find(b"\n") == len(piece) - 2
            and piece.endswith(b"\n\n")
            and not data
        ):
            # The common read: exactly one event, "data: {...}" and its blank
            # line (~1.5 µs less per token than the line loop below).
            payload = piece[6:-3] if piece[-3] == 13 else piece[6:-2]  # 13: a CR
            if payload == DONE:
                done = True
            else:
                yield [payload]
            continue
        buffer += piece
        ready: list[bytes] = []
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = buffer[start:end]
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    payload = data[0] if len(data) == 1 else b"\n".join(data)
                    data = []
                    if payload == DONE:
                        done = True
                        break
                    ready.append(payload)
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        buffer = buffer[start:]
        if len(buffer) > MAX_LINE_BYTES:
            raise WireError(f"a stream line is over {MAX_LINE_BYTES} bytes without an end")
        if ready:
            yield ready
    if not done:
        if buffer.startswith(b"data:"):  # a last line without its newline
            value = buffer[5:].rstrip(b"\r")
            data.append(value[1:] if value.startswith(b" ") else value)
        if data:  # a last event without its blank line
            payload = b"\n".join(data)
            if payload != DONE:
                yield [payload]


@dataclass(slots=True)
class DecodedBatch:
    parts: list[LLMChunk]
    finish: str | None
    """The last ``finish_reason`` in the batch."""
    decoded: int
    """How many payloads were decoded before ``error`` (all, without one)."""
    error: WireError | ProviderStreamError | None = None
    """What broke the stream; raise it after handing out ``parts``."""


def decode_batch(payloads: list[bytes], model: str) -> DecodedBatch:
    """The chunks of one read, with adjacent text (and reasoning) deltas
    joined.

    A read holds one chunk when Sage keeps up with the model, so tokens
    still arrive one by one; it holds several when the model (or a loaded
    machine) got ahead, and then one delta for all of them is what lets Sage
    catch up: every delta becomes an event, a stored part and an SSE frame.
    A payload that fails to decode ends the batch, after what came before it.
    """
    if len(payloads) == 1:  # the common case: nothing to join
        try:
            parts, done = decode_chunk(payloads[0], model)
        except (WireError, ProviderStreamError) as exc:
            return DecodedBatch([], None, 0, exc)
        return DecodedBatch(parts, done, 1)
    out: list[LLMChunk] = []
    finish: str | None = None
    for number, payload in enumerate(payloads):
        try:
            parts, done = decode_chunk(payload, model)
        except (WireError, ProviderStreamError) as exc:
            return DecodedBatch(out, finish, number, exc)
        finish = done or finish
        for part in parts:
            last = out[-1] if out else None
            if type(part) is TextDelta and type(last) is TextDelta:
                out[-1] = TextDelta(last.text + part.text)
            elif type(part) is ReasoningDelta and type(last) is ReasoningDelta:
                out[-1] = ReasoningDelta(last.text + part.text)
            else:
                out.append(part)
    return DecodedBatch(out, finish, len(payloads))


def decode_chunk(payload: bytes | str, model: str) -> tuple[list[LLMChunk], str | None]:
    """One chunk's events and its ``finish_reason`` (``None`` while streaming).

    Raises ``WireError`` when the payload is not a chunk object and
    ``ProviderStreamError`` when it is the provider's error report.
    """
    try:
        data = JSON.decode(payload.decode() if isinstance(payload, bytes) else payload)
    except ValueError as exc:  # UnicodeDecodeError included
        raise WireError(f"a chunk is not JSON ({exc}): {_preview(payload)}") from exc
    if not isinstance(data, dict):
        raise WireError(f"a chunk is not a JSON object: {_preview(payload)}")
    if "error" in data:
        raise ProviderStreamError(_error_text(data["error"]))
    try:
        out: list[LLMChunk] = []
        finish: str | None = None
        choices = data.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                out.append(TextDelta(_text(content, "content")))
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and isinstance(reasoning, str):
                out.append(ReasoningDelta(reasoning))
            calls = delta.get("tool_calls")
            if calls:
                for position, call in enumerate(calls):
                    out.append(_tool_call(call, position))
            finish = choice.get("finish_reason") or None
        usage = data.get("usage")
        if usage:
            out.append(
                UsageReport(
                    model,
                    int(usage.get("prompt_tokens") or 0),
                    int(usage.get("completion_tokens") or 0),
                )
            )
    except (AttributeError, TypeError, ValueError) as exc:
        raise WireError(f"a chunk is malformed ({exc}): {_preview(payload)}") from exc
    return out, finish


def _preview(payload: bytes | str) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return repr(text[:200])


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"a chunk's {field} is not a string: {value!r}")
    return value


def _tool_call(call: Any, position: int) -> ToolCallDelta:
    """One tool-call fragment. Without an ``index`` (Ollama sent none,
    https://github.com/ollama/ollama/issues/7881, with each call whole and a
    turn's calls together in one chunk) the call's place in the chunk is its
    index."""
    if not isinstance(call, dict) or not isinstance(call.get("index", position), int):
        raise WireError(f"a chunk's tool call is malformed: {call!r}")
    fn = call.get("function") or {}
    return ToolCallDelta(
        index=call.get("index", position),
        id=call.get("id") or None,
        name=fn.get("name") or None,
        arguments=fn.get("arguments") or "",
    )


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error)


def error_message(body: bytes, fallback: str) -> str:
    """The provider's own words from an HTTP error body, when it has any.

    OpenAI and most compatible servers answer ``{"error": {"message": …}}``;
    some answer ``{"message": …}`` or ``{"detail": …}``, and a proxy in front
    may answer plain text.
    """
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or fallback
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if data.get(key):
                return _error_text(data[key])[:500]
    return fallback
