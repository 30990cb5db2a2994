"""OpenAIChatModel against small hand-built servers, for what the mock LLM does
not do: check the credentials it sends, answer JSON instead of a stream, or
report an error inside the stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sagents.llm import (
    LLMRequest,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
    OpenAIChatModel,
    TextDelta,
)
from sagents.settings import Settings
from sagents.testing import ServerThread

SSE = "text/event-stream"
HELLO = LLMRequest(role="simple", messages=[{"role": "user", "content": "hi"}])
seen: list[dict[str, str]] = []
seen_paths: list[str] = []
errors_first: list[int] = []


def sse(*payloads: str) -> Response:
    return Response("".join(f"data: {p}\n\n" for p in payloads), media_type=SSE)


async def completions(request: Request) -> Response:
    seen.append(dict(request.headers))
    seen_paths.append(request.url.path + "?" + request.url.query)
    mode = (await request.json())["model"]
    if mode == "endless-error":  # an error page that never ends

        async def endless() -> AsyncIterator[bytes]:
            yield b"<html>"
            while True:
                yield b"x" * 16_384
                await asyncio.sleep(0.001)

        return StreamingResponse(endless(), status_code=502, media_type="text/html")
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
        Starlette(
            routes=[
                Route("/v1/chat/completions", completions, methods=["POST"]),
                Route("/openai/deployments/{name}/chat/completions", completions, methods=["POST"]),
            ]
        )
    )
    url = server.start()
    try:
        yield f"{url}/v1"
    finally:
        server.stop()


def model(
    base_url: str, name: str, key: str | None, retries: int = 0, **settings: Any
) -> OpenAIChatModel:
    return OpenAIChatModel(
        Settings(
            _env_file=None,
            llm_base_url=base_url,
            llm_model=name,
            llm_api_key=key,
            llm_max_retries=retries,
            llm_retry_base_delay_s=0.01,
            **settings,
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


async def test_organization_project_and_default_headers_are_sent(base_url: str) -> None:
    seen.clear()
    llm = model(
        base_url,
        "ok",
        "sk-test",
        llm_organization="org-1",
        llm_project="proj-2",
        llm_default_headers={"X-Gateway-Route": "blue"},
    )
    [c async for c in llm.stream(HELLO)]
    await llm.aclose()
    headers = seen[0]
    assert headers["openai-organization"] == "org-1"
    assert headers["openai-project"] == "proj-2"
    assert headers["x-gateway-route"] == "blue"


async def test_azure_routes_by_deployment_with_the_api_version_and_api_key(
    base_url: str,
) -> None:
    seen.clear()
    seen_paths.clear()
    root = base_url.removesuffix("/v1")
    llm = model(root, "ok", "azure-key", llm_api_version="2024-10-21")
    chunks = [c async for c in llm.stream(HELLO)]
    await llm.aclose()
    assert chunks[0] == TextDelta("Hello")
    assert seen_paths == ["/openai/deployments/ok/chat/completions?api-version=2024-10-21"]
    assert seen[0]["api-key"] == "azure-key"


async def test_an_error_body_is_read_only_in_part(base_url: str) -> None:
    # Read whole, this body would never end and the call would time out.
    llm = model(base_url, "endless-error", None, llm_first_chunk_timeout_s=5.0)
    with pytest.raises(LLMUnavailable) as caught:
        [c async for c in llm.stream(HELLO)]
    await llm.aclose()
    assert not isinstance(caught.value, LLMTimeout)  # it did not wait for the end
    assert "HTTP 502" in str(caught.value)
