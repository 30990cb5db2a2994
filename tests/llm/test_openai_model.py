"""OpenAIChatModel against the real mock server over loopback: streaming,
retries, timeouts, error mapping and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import pytest

from sagents.llm import (
    LLMChunk,
    LLMNotConfigured,
    LLMRequest,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
    OpenAIChatModel,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings
from sagents.testing import Faults, MockLLMServer, ScriptedToolCall, Turn, Usage
from tests.llm.conftest import ModelFactory

HELLO = [{"role": "user", "content": "hello there"}]


def request(role: str = "simple", **kwargs: object) -> LLMRequest:
    return LLMRequest(role=role, messages=list(HELLO), **kwargs)  # type: ignore[arg-type]


async def collect(model: OpenAIChatModel, req: LLMRequest) -> list[LLMChunk]:
    return [chunk async for chunk in model.stream(req)]


def texts(chunks: list[LLMChunk]) -> list[str]:
    return [chunk.text for chunk in chunks if isinstance(chunk, TextDelta)]


async def test_streams_text_token_by_token(mock: MockLLMServer, make_model: ModelFactory) -> None:
    words = " ".join(f"word{i}" for i in range(50))
    mock.set_script([Turn(text=words, faults=Faults(token_delay_s=0.005))])
    chunks = await collect(make_model(), request())

    assert len(texts(chunks)) == 50  # paced like a model: each token on its own
    assert "".join(texts(chunks)) == words
    assert isinstance(chunks[-1], StreamEnd)
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].model == "m"
    body = mock.requests[0]
    assert body["model"] == "m"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == HELLO
    assert mock.roles == ["simple"]


async def test_role_picks_the_configured_model(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="yes")])
    model = make_model(llm_fast_model="fast")
    chunks = await collect(model, request(role="router"))

    assert mock.requests[0]["model"] == "fast"
    assert mock.roles == ["router"]
    usage = [chunk for chunk in chunks if isinstance(chunk, UsageReport)]
    assert usage[0].model == "fast"


async def test_reasoning_content_is_streamed_before_the_answer(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(reasoning="Let me think about it.", text="Forty-two.")])
    chunks = await collect(make_model(), request())

    kinds = [type(chunk) for chunk in chunks if isinstance(chunk, TextDelta | ReasoningDelta)]
    assert kinds == [ReasoningDelta] * 5 + [TextDelta]
    reasoning = "".join(chunk.text for chunk in chunks if isinstance(chunk, ReasoningDelta))
    assert reasoning == "Let me think about it."


async def test_tool_call_argument_deltas_reassemble(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    arguments = {"query": "weather in Paris tomorrow morning", "limit": 3}
    mock.set_script(
        [
            Turn(
                tool_calls=[
                    ScriptedToolCall(name="search", arguments=arguments),
                    ScriptedToolCall(name="clock", arguments={}, id="call_fixed"),
                ]
            )
        ]
    )
    chunks = await collect(make_model(), request(tools=[{"type": "function"}]))

    deltas = [chunk for chunk in chunks if isinstance(chunk, ToolCallDelta)]
    by_index: dict[int, list[ToolCallDelta]] = {}
    for delta in deltas:
        by_index.setdefault(delta.index, []).append(delta)
    first, second = by_index[0], by_index[1]
    assert (first[0].id, first[0].name) == ("call_1", "search")
    assert len(first) > 2  # the arguments arrive in several fragments
    assert json.loads("".join(d.arguments for d in first)) == arguments
    assert (second[0].id, second[0].name) == ("call_fixed", "clock")
    assert isinstance(chunks[-1], StreamEnd)
    assert chunks[-1].finish_reason == "tool_calls"


async def test_usage_from_the_provider_is_reported(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="ok", usage=Usage(input_tokens=123, output_tokens=45))])
    chunks = await collect(make_model(), request())

    usage = [chunk for chunk in chunks if isinstance(chunk, UsageReport)]
    assert usage == [UsageReport(model="m", input_tokens=123, output_tokens=45)]
    assert isinstance(chunks[-1], StreamEnd)


async def test_request_options_reach_the_server(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="ok")])
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    await collect(
        make_model(),
        request(
            tools=tools,
            tool_choice="auto",
            response_format={"type": "json_object"},
            temperature=0.25,
            max_tokens=77,
            extra={"top_k": 5},
        ),
    )
    body = mock.requests[0]
    strict = {"name": "f", "parameters": {"type": "object", "additionalProperties": False}}
    assert body["tools"] == [{"type": "function", "function": {**strict, "strict": True}}]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is True
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0.25
    assert body["max_tokens"] == 77
    assert body["top_k"] == 5


async def test_500_is_retried_then_succeeds(mock: MockLLMServer, make_model: ModelFactory) -> None:
    mock.set_script([Turn(text="recovered", faults=Faults(http_status=500))])
    chunks = await collect(make_model(), request())

    assert "".join(texts(chunks)) == "recovered"
    assert len(mock.requests) == 2


async def test_429_is_retried(mock: MockLLMServer, make_model: ModelFactory) -> None:
    mock.set_script([Turn(text="finally", faults=Faults(http_status=429, fail_times=2))])
    chunks = await collect(make_model(llm_max_retries=3), request())

    assert "".join(texts(chunks)) == "finally"
    assert len(mock.requests) == 3


async def test_gives_up_after_max_retries(mock: MockLLMServer, make_model: ModelFactory) -> None:
    mock.set_script([Turn(text="never", faults=Faults(http_status=503, fail_times=100))])
    with pytest.raises(LLMUnavailable) as caught:
        await collect(make_model(llm_max_retries=2), request())

    assert caught.value.status_code == 503
    assert "HTTP 503" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(mock.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 422])
async def test_client_errors_are_rejected_without_retry(
    mock: MockLLMServer, make_model: ModelFactory, status: int
) -> None:
    mock.set_script([Turn(text="unused", faults=Faults(http_status=status))])
    with pytest.raises(LLMRequestRejected) as caught:
        await collect(make_model(), request())

    assert caught.value.status_code == status
    assert f"Injected fault: HTTP {status}." in str(caught.value)  # the server's own message
    assert len(mock.requests) == 1


async def test_stream_cut_midway_is_broken_and_not_retried(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="one two three four five six", faults=Faults(cut_after_chunks=3))])
    received: list[LLMChunk] = []
    started = time.monotonic()
    with pytest.raises(LLMStreamBroken) as caught:
        async for chunk in make_model().stream(request()):
            received.append(chunk)

    assert time.monotonic() - started < 2
    assert "".join(texts(received)) == "one two three "
    assert "broke after 3 chunks" in str(caught.value)
    assert mock.base_url in str(caught.value)
    assert len(mock.requests) == 1


async def test_unreachable_url_is_unavailable(make_model: ModelFactory) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    model = make_model(llm_base_url=url, llm_max_retries=1, llm_connect_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await collect(model, request())

    assert time.monotonic() - started < 3
    assert url in str(caught.value)
    assert not isinstance(caught.value, LLMTimeout)


async def test_hanging_server_times_out_at_first_chunk(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="late", faults=Faults(hang=True, fail_times=100))])
    model = make_model(llm_first_chunk_timeout_s=0.3, llm_max_retries=0)
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        await collect(model, request())

    assert time.monotonic() - started < 2
    assert "first-chunk timeout" in str(caught.value)
    assert len(mock.requests) == 1


async def test_first_chunk_timeout_is_retried(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="second time lucky", faults=Faults(hang=True, fail_times=1))])
    model = make_model(llm_first_chunk_timeout_s=0.3, llm_max_retries=1)
    chunks = await collect(model, request())

    assert "".join(texts(chunks)) == "second time lucky"
    assert len(mock.requests) == 2


async def test_whole_call_timeout_mid_stream(mock: MockLLMServer, make_model: ModelFactory) -> None:
    words = " ".join(["slow"] * 40)
    mock.set_script([Turn(text=words, faults=Faults(token_delay_s=0.05))])
    model = make_model(llm_timeout_s=0.5)
    received: list[LLMChunk] = []
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        async for chunk in model.stream(request()):
            received.append(chunk)

    assert time.monotonic() - started < 2
    assert 0 < len(texts(received)) < 40
    assert "did not finish within 0.5 s" in str(caught.value)


async def test_cancelling_the_consumer_closes_the_stream(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text=" ".join(["tick"] * 200), faults=Faults(token_delay_s=0.05))])
    model = make_model()
    received: list[LLMChunk] = []
    streaming = asyncio.Event()

    async def consume() -> None:
        async for chunk in model.stream(request()):
            received.append(chunk)
            if len(received) == 3:
                streaming.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(streaming.wait(), timeout=5)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1

    for _ in range(150):  # the server notices on its own thread; allow up to 3 s
        if mock.disconnects:
            break
        await asyncio.sleep(0.02)
    assert mock.disconnects == 1  # the server saw the client go away
    assert len(texts(received)) < 200


async def test_closing_the_generator_early_closes_the_stream(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text=" ".join(["tock"] * 200), faults=Faults(token_delay_s=0.05))])
    async with contextlib.aclosing(make_model().stream(request())) as chunks:  # type: ignore[type-var]
        async for chunk in chunks:
            assert isinstance(chunk, TextDelta)
            break

    for _ in range(150):
        if mock.disconnects:
            break
        await asyncio.sleep(0.02)
    assert mock.disconnects == 1


async def test_concurrent_streams_share_one_client(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script(
        {"turns": [{"text": "alpha beta gamma delta"}], "cycle": True}  # type: ignore[arg-type]
    )
    model = make_model()
    results = await asyncio.gather(*(collect(model, request()) for _ in range(100)))

    assert all("".join(texts(chunks)) == "alpha beta gamma delta" for chunks in results)
    assert len(mock.requests) == 100


async def test_not_configured_raises_the_setup_message() -> None:
    model = OpenAIChatModel(Settings(_env_file=None, llm_base_url=None, llm_model=None))
    with pytest.raises(LLMNotConfigured) as caught:
        await collect(model, request())
    assert str(caught.value) == NOT_CONFIGURED_MESSAGE
    await model.aclose()


async def test_a_closed_model_refuses_to_stream(make_model: ModelFactory) -> None:
    model = make_model()
    await model.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await collect(model, request())


async def test_a_stream_that_stalls_mid_way_times_out_at_the_deadline(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    """The deadline holds for every read, not only the first: a provider that
    sends a little and then nothing more ends the call at llm_timeout_s."""
    mock.set_script([Turn(text="one two", faults=Faults(token_delay_s=30))])
    model = make_model(llm_timeout_s=0.5, llm_first_chunk_timeout_s=5)
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        async for _ in model.stream(request()):
            pass
    assert time.monotonic() - started < 3
    assert "did not finish within 0.5 s" in str(caught.value)


async def test_a_cancel_mid_stream_stays_a_cancel(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    """Only the deadline's own cancel becomes a timeout: a run cancelled while
    its stream waits for the next token is cancelled, not timed out."""
    mock.set_script([Turn(text="one two three", faults=Faults(token_delay_s=30))])
    model = make_model(llm_timeout_s=60)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in model.stream(request()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=5)
    await asyncio.sleep(0.05)  # now waiting in a read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
