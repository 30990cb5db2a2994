"""The chat completion request sent along a ``Route`` (sagents.llm.route) is
the one the SDK's ``post`` sends: same URL, same headers (key, organisation,
project, default headers, the SDK's own), and failures become the SDK's
exception classes, which Sage then names as before."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sagents.llm import (
    LLMRequest,
    LLMRequestRejected,
    LLMUnavailable,
    OpenAIChatModel,
    TextDelta,
)
from sagents.settings import Settings
from sagents.testing import ServerThread

HELLO = LLMRequest(role="judge", messages=[{"role": "user", "content": "hi"}])
ANSWER = (
    'data: {"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)
seen: list[tuple[str, dict[str, str]]] = []


async def completions(request: Request) -> Response:
    seen.append((str(request.url), dict(request.headers)))
    status = int((await request.json())["model"].removeprefix("status-") or 200)
    if status != 200:
        return JSONResponse({"error": {"message": f"no ({status})"}}, status_code=status)
    return Response(ANSWER, media_type="text/event-stream")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ServerThread(
        Starlette(routes=[Route("/gw/v1/chat/completions", completions, methods=["POST"])])
    )
    url = server.start()
    try:
        yield f"{url}/gw/v1"
    finally:
        server.stop()


def make(base_url: str, model: str = "status-", **settings: Any) -> OpenAIChatModel:
    values: dict[str, Any] = {"llm_api_key": "sk-route", "llm_max_retries": 0, **settings}
    return OpenAIChatModel(
        Settings(_env_file=None, llm_base_url=base_url, llm_model=model, **values)
    )


async def sdk_post(llm: OpenAIChatModel, headers: dict[str, Any]) -> None:
    """The same request through the SDK's own ``post``."""
    response: httpx2.Response = await llm.sdk.post(
        "/chat/completions",
        cast_to=httpx2.Response,
        content=json.dumps({"model": "status-", "messages": []}).encode(),
        options={"headers": headers},
        stream=True,
    )
    await response.aread()


@pytest.mark.parametrize("key", ["sk-route", None])
async def test_the_request_has_the_url_and_headers_the_sdk_would_send(
    base_url: str, key: str | None
) -> None:
    llm = make(
        base_url,
        llm_api_key=key,
        llm_organization="org-9",
        llm_project="proj-9",
        llm_default_headers={"X-Gateway": "green", "X-Sage-Role": "not-this"},
    )
    seen.clear()
    chunks = [c async for c in llm.stream(HELLO)]
    chunks += [c async for c in llm.stream(HELLO)]  # the second call reuses the route
    omit = {"Authorization": openai.Omit()} if key is None else {}
    await sdk_post(llm, {**omit, "X-Sage-Role": "judge"})
    await llm.aclose()

    assert [c for c in chunks if isinstance(c, TextDelta)] == [TextDelta("Hello")] * 2
    (url, ours), (_, again), (sdk_url, sdk) = seen
    assert url == sdk_url == f"{base_url}/chat/completions"
    for headers in (ours, again, sdk):
        headers.pop("content-length")
    assert ours == again == sdk
    assert ours["openai-organization"] == "org-9" and ours["openai-project"] == "proj-9"
    assert ours["x-gateway"] == "green" and ours["x-sage-role"] == "judge"
    assert ours["user-agent"].startswith("AsyncOpenAI/Python")
    assert ours.get("authorization") == (None if key is None else "Bearer sk-route")


@pytest.mark.parametrize(
    ("status", "sdk_error", "sage_error"),
    [
        (400, openai.BadRequestError, LLMRequestRejected),
        (404, openai.NotFoundError, LLMRequestRejected),
        (429, openai.RateLimitError, LLMUnavailable),
        (500, openai.InternalServerError, LLMUnavailable),
    ],
)
async def test_an_error_status_is_the_sdks_error_class_named_by_sage(
    base_url: str,
    status: int,
    sdk_error: type[openai.APIStatusError],
    sage_error: type[Exception],
) -> None:
    llm = make(base_url, model=f"status-{status}")
    with pytest.raises(sage_error) as caught:
        [c async for c in llm.stream(HELLO)]
    await llm.aclose()

    cause = caught.value.__cause__
    assert type(cause) is sdk_error
    assert cause.status_code == status
    assert str(cause) == f"Error code: {status} - no ({status})"
    assert f"HTTP {status}" in str(caught.value) and f"no ({status})" in str(caught.value)


async def test_a_refused_connection_is_the_sdks_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = make(f"http://127.0.0.1:{port}/v1", llm_connect_timeout_s=1.0)
    with pytest.raises(LLMUnavailable, match="Could not reach the LLM") as caught:
        [c async for c in llm.stream(HELLO)]
    await llm.aclose()

    cause = caught.value.__cause__
    assert type(cause) is openai.APIConnectionError
    assert isinstance(cause.__cause__, httpx2.ConnectError)
