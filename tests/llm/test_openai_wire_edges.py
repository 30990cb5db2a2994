"""OpenAIChatModel against small hand-built servers, for what the mock LLM does
not do: check the credentials it sends, answer JSON instead of a stream, or
report an error inside the stream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sagents.llm import LLMRequest, LLMStreamBroken, LLMUnavailable, OpenAIChatModel, TextDelta
from sagents.settings import Settings
from sagents.testing import ServerThread

SSE = "text/event-stream"
HELLO = LLMRequest(role="simple", messages=[{"role": "user", "content": "hi"}])
seen: list[dict[str, str]] = []
errors_first: list[int] = []


def sse(*payloads: str) -> Response:
    return Response("".join(f"data: {p}\n\n" for p in payloads), media_type=SSE)


async def completions(request: Request) -> Response:
    seen.append(dict(request.headers))
    mode = (await request.json())["model"]
    if mode == "json":
        return JSONResponse({"choices": [{"message": {"content": "not streamed"}}]})
    if mode == "burst":  # the whole answer in one write, as from a model that got ahead
        words = [f'{{"choices":[{{"index":0,"delta":{{"content":"w{i} "}}}}]}}' for i in range(100)]
        return sse(*words, '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}', "[DONE]")
    if mode == "error-first":  # the provider's error as its first word, once
        errors_first.append(1)
        if len(errors_first) == 1:
            return sse('{"error":{"message":"the model is overloaded"}}')
    if mode == "error-mid-stream":
        return sse(
            '{"choices":[{"index":0,"delta":{"content":"Hel"}}]}',
            '{"error":{"message":"the model crashed"}}',
        )
    return sse(
        '{"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":"stop"}]}', "[DONE]"
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ServerThread(
        Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    )
    url = server.start()
    try:
        yield f"{url}/v1"
    finally:
        server.stop()


def model(base_url: str, name: str, key: str | None, retries: int = 0) -> OpenAIChatModel:
    return OpenAIChatModel(
        Settings(
            _env_file=None,
            llm_base_url=base_url,
            llm_model=name,
            llm_api_key=key,
            llm_max_retries=retries,
            llm_retry_base_delay_s=0.01,
        )
    )


async def test_the_key_is_sent_as_a_bearer_token_and_none_without_one(base_url: str) -> None:
    seen.clear()
    for key in ("sk-test", None):
        llm = model(base_url, "ok", key)
        chunks = [c async for c in llm.stream(HELLO)]
        await llm.aclose()
        assert chunks[0] == TextDelta("Hello")
    assert seen[0]["authorization"] == "Bearer sk-test"
    assert "authorization" not in seen[1]
    assert seen[0]["x-sage-role"] == "simple"


async def test_a_json_answer_instead_of_a_stream_is_named(base_url: str) -> None:
    llm = model(base_url, "json", None)
    with pytest.raises(LLMUnavailable, match="without any stream events"):
        [c async for c in llm.stream(HELLO)]
    await llm.aclose()


async def test_an_error_inside_the_stream_breaks_it_with_the_providers_words(
    base_url: str,
) -> None:
    llm = model(base_url, "error-mid-stream", None)
    received = []
    with pytest.raises(LLMStreamBroken, match="the model crashed"):
        async for chunk in llm.stream(HELLO):
            received.append(chunk)
    await llm.aclose()
    assert received == [TextDelta("Hel")]


async def test_tokens_that_arrive_in_one_read_come_out_as_one_delta(base_url: str) -> None:
    llm = model(base_url, "burst", None)
    chunks = [c async for c in llm.stream(HELLO)]
    await llm.aclose()
    text = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert "".join(text) == "".join(f"w{i} " for i in range(100))  # nothing lost or reordered
    assert len(text) < 100


async def test_an_error_as_the_first_event_is_retried(base_url: str) -> None:
    errors_first.clear()
    llm = model(base_url, "error-first", None, retries=1)
    chunks = [c async for c in llm.stream(HELLO)]
    await llm.aclose()
    assert chunks[0] == TextDelta("Hello")
    assert len(errors_first) == 2


async def test_an_error_as_the_first_event_names_the_provider_when_retries_run_out(
    base_url: str,
) -> None:
    errors_first.clear()
    llm = model(base_url, "error-first", None, retries=0)
    with pytest.raises(LLMUnavailable, match="the model is overloaded"):
        [c async for c in llm.stream(HELLO)]
    await llm.aclose()
