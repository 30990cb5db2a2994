"""The chat completion wire reader: SSE framing, chunk decoding and error bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from sagents.llm.types import ReasoningDelta, TextDelta, ToolCallDelta, UsageReport
from sagents.llm.wire import (
    ProviderStreamError,
    WireError,
    decode_batch,
    decode_chunk,
    error_message,
    sse_batches,
)


async def pieces_of(text: str, size: int) -> AsyncIterator[bytes]:
    raw = text.encode()
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


async def payloads(text: str) -> list[str]:
    """Fed in pieces of every size: where a network read splits the body
    (mid-line, mid-CRLF) must not change what comes out."""
    results = {
        tuple([p.decode() async for batch in sse_batches(pieces_of(text, size)) for p in batch])
        for size in range(1, len(text.encode()) + 1)
    }
    assert len(results) == 1, results
    return list(results.pop())


def chunk(delta: dict[str, object], finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


async def test_events_end_at_blank_lines_and_done() -> None:
    text = 'data: {"a":1}\n\n: a comment\n\ndata:{"b":2}\n\ndata: [DONE]\n\ndata: {"late":1}\n\n'
    assert await payloads(text) == ['{"a":1}', '{"b":2}']


async def test_multi_line_data_is_joined_and_other_fields_skipped() -> None:
    text = "event: message\nid: 7\ndata: first\ndata: second\nretry: 10\n\n"
    assert await payloads(text) == ["first\nsecond"]


async def test_a_last_event_without_its_blank_line_is_kept() -> None:
    assert await payloads('data: {"a":1}') == ['{"a":1}']
    assert await payloads('data: {"a":1}\n') == ['{"a":1}']


async def test_crlf_line_endings() -> None:
    assert await payloads('data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n') == ['{"a":1}']
    # A read of exactly one event takes a shorter path: a CR before its
    # first LF is still a line ending there.
    assert await payloads('data: {"a":1}\r\n\ndata: [DONE]\r\n\n') == ['{"a":1}']


async def test_reads_of_one_whole_event_each() -> None:
    events = ['data: {"a":1}\n\n', 'data:{"b":2}\n\n', "data: x\n", "\n", "data: [DONE]\n\n"]

    async def reads() -> AsyncIterator[bytes]:
        for event in [*events, 'data: {"late":1}\n\n']:
            yield event.encode()

    batches = [batch async for batch in sse_batches(reads())]
    assert batches == [[b'{"a":1}'], [b'{"b":2}'], [b"x"]]


def test_text_reasoning_tool_calls_and_usage_are_read() -> None:
    parts, finish = decode_chunk(chunk({"content": "Hi", "reasoning_content": "think"}), "m")
    assert parts == [TextDelta("Hi"), ReasoningDelta("think")]
    assert finish is None

    call = {"index": 1, "id": "c1", "function": {"name": "add", "arguments": '{"a"'}}
    parts, finish = decode_chunk(chunk({"tool_calls": [call]}, "tool_calls"), "m")
    assert parts == [ToolCallDelta(index=1, id="c1", name="add", arguments='{"a"')]
    assert finish == "tool_calls"

    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}})
    assert decode_chunk(usage, "m") == ([UsageReport("m", 12, 3)], None)


def test_a_provider_error_in_the_stream_is_raised_with_its_message() -> None:
    with pytest.raises(ProviderStreamError, match="overloaded"):
        decode_chunk(json.dumps({"error": {"message": "overloaded", "code": 529}}), "m")


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        json.dumps({"choices": ["nope"]}),
        json.dumps({"choices": [{"delta": {"content": 5}}]}),
        json.dumps({"choices": [{"delta": {"tool_calls": [{"index": "x"}]}}]}),
    ],
)
def test_malformed_chunks_are_wire_errors(payload: str) -> None:
    with pytest.raises(WireError):
        decode_chunk(payload, "m")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": {"message": "bad key"}}', "bad key"),
        (b'{"message": "no such model"}', "no such model"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b"<html>gateway</html>", "<html>gateway</html>"),
        (b"", "Bad Gateway"),
        (b"{}", "Bad Gateway"),
    ],
)
def test_error_bodies_give_the_providers_words(body: bytes, expected: str) -> None:
    assert error_message(body, "Bad Gateway") == expected


async def test_a_batch_is_what_one_read_completed() -> None:
    body = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: {"c"'

    async def two_reads() -> AsyncIterator[bytes]:
        yield body.encode()
        yield b":3}\n\ndata: [DONE]\n\n"

    assert [b async for b in sse_batches(two_reads())] == [
        [b'{"a":1}', b'{"b":2}'],
        [b'{"c":3}'],
    ]


def test_a_batch_joins_adjacent_text_and_keeps_the_rest_apart() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "add", "arguments": "{}"}}
    payloads = [
        chunk({"content": "one "}).encode(),
        chunk({"content": "two "}).encode(),
        chunk({"reasoning_content": "hm"}).encode(),
        chunk({"reasoning_content": "m"}).encode(),
        chunk({"tool_calls": [call]}).encode(),
        chunk({"content": "three"}, "stop").encode(),
    ]
    batch = decode_batch(payloads, "m")
    assert batch.parts == [
        TextDelta("one two "),
        ReasoningDelta("hmm"),
        ToolCallDelta(index=0, id="c1", name="add", arguments="{}"),
        TextDelta("three"),
    ]
    assert batch.finish == "stop"
    assert (batch.decoded, batch.error) == (6, None)


def test_a_bad_payload_ends_the_batch_after_what_came_before() -> None:
    payloads = [chunk({"content": "kept"}).encode(), b"not json", chunk({"content": "x"}).encode()]
    batch = decode_batch(payloads, "m")
    assert batch.parts == [TextDelta("kept")]
    assert batch.decoded == 1
    assert isinstance(batch.error, WireError)


async def test_a_line_without_end_is_refused_before_it_grows_without_bound() -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b"data: "
        while True:
            yield b"x" * 2**20

    with pytest.raises(WireError, match="without an end"):
        [b async for b in sse_batches(endless())]
