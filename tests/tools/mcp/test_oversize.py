"""BoundedSplitter and the id of a refused message, however the bytes are cut."""

from __future__ import annotations

import json
import random

import pytest

from sagents.tools.mcp.oversize import (
    RESULT_TOO_LARGE,
    BoundedSplitter,
    Refused,
    from_server,
    message_id,
    too_large_message,
)

LIMIT = 1000


def response(request_id: int | str, size: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {"t": "x" * size}}).encode()


def feed_in_pieces(splitter: BoundedSplitter, data: bytes, seed: int) -> list[bytes | Refused]:
    rng = random.Random(seed)
    out: list[bytes | Refused] = []
    start = 0
    while start < len(data):
        step = rng.choice([1, 2, 3, 7, 64, 999, 5000])
        out += splitter.feed(data[start : start + step])
        start += step
    return out


def shape(items: list[bytes | Refused]) -> list[object]:
    return [("refused", i.request_id) if isinstance(i, Refused) else i for i in items]


@pytest.mark.parametrize("seed", range(20))
def test_lines_split_the_same_however_the_stream_is_cut(seed: int) -> None:
    small, big, last = response(1, 10), response(2, 5 * LIMIT), response("three", 20)
    stream = small + b"\n" + big + b"\n\n" + last + b"\r\n"
    got = feed_in_pieces(BoundedSplitter(LIMIT), stream, seed)
    assert shape(got) == [small, ("refused", 2), last + b"\r"]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_events_split_the_same_however_the_stream_is_cut(seed: int, newline: bytes) -> None:
    def event(body: bytes) -> bytes:
        return b"event: message" + newline + b"data: " + body + newline + newline

    small, big = event(response(1, 10)), event(response(7, 5 * LIMIT))
    ping = b": ping" + newline + newline
    stream = small + big + ping + small
    got = feed_in_pieces(BoundedSplitter(LIMIT, events=True), stream, seed)
    assert shape(got) == [small, ("refused", 7), ping, small]


def test_memory_held_is_bounded_by_the_limit() -> None:
    splitter = BoundedSplitter(LIMIT)
    splitter.feed(b'{"jsonrpc":"2.0","id":9,"result":"')
    for _ in range(1000):  # a megabyte without a newline
        assert splitter.feed(b"y" * 1000) == []
        assert len(splitter._pending) <= LIMIT
    refusing = splitter.refusing
    assert refusing is not None and refusing.request_id == 9
    [refused] = splitter.feed(b'"}\nnext\n')[:1]
    assert isinstance(refused, Refused) and refused.request_id == 9


def test_a_refused_message_keeps_only_its_head() -> None:
    [refused] = BoundedSplitter(LIMIT).feed(response(4, 50 * LIMIT) + b"\n")
    assert isinstance(refused, Refused) and len(refused.head) <= 4096


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"jsonrpc":"2.0","id":5,"result":{', 5),
        (b'{"jsonrpc": "2.0", "id": "a\\"b", "result"', 'a"b'),
        (b'{"id":-3,"jsonrpc":"2.0"', -3),
        (b'event: message\r\nid: 17\r\ndata: {"jsonrpc":"2.0","id":12,"result"', 12),
        (b'{"jsonrpc":"2.0","method":"notifications/message","params"', None),
        (b'{"jsonrpc":"2.0","result":{"t":"x"},"id":1}', None),  # id last: not found
        (b'{"jsonrpc":"2.0","id":null,"error"', None),
        (b"not json at all", None),
    ],
)
def test_the_id_is_read_from_the_start_of_a_message(head: bytes, expected: object) -> None:
    assert message_id(head) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"jsonrpc":"2.0","method":"notifications/message","params"', True),
        (b'{"jsonrpc":"2.0","id":4,"method":"sampling/createMessage"', True),
        (b'event: message\r\ndata: {"method":"notifications/progress"', True),
        (b'{"jsonrpc":"2.0","id":4,"result":{"structuredContent":{"method":1', False),
        (b'{"jsonrpc":"2.0","id":4,"result":{"content":[{"text":"\\"method\\""', False),
    ],
)
def test_a_request_or_notification_from_the_server_is_told_from_an_answer(
    head: bytes, expected: bool
) -> None:
    assert from_server(head) is expected


def test_the_stand_in_is_a_json_rpc_error_for_the_same_request() -> None:
    message = json.loads(too_large_message("abc", 123))
    assert message["id"] == "abc" and message["error"]["code"] == RESULT_TOO_LARGE
    assert "over 123 bytes" in message["error"]["message"]
