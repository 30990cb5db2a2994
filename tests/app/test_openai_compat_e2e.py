"""The OpenAI-compatible facade, used through the official openai SDK (sync
and async, streamed and not) against the real app and the mock LLM."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer

KEYS = {"key-alice": "alice", "key-bob": "bob"}
ALICE = {"Authorization": "Bearer key-alice"}


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def word_count_tools() -> ToolManager:
    tools = ToolManager()
    tools.add(word_count)
    return tools


ROUTE_SIMPLE = Turn(
    role="router", json={"deep_thinking": False, "multi_agent": False, "reason": "one step"}
)
TOOL_SCRIPT = [
    ROUTE_SIMPLE,
    Turn(
        role="simple",
        text="Counting. ",
        tool_calls=[ScriptedToolCall(name="word_count", arguments={"text": "a b c"})],
    ),
    Turn(role="simple", text="There are 3 words."),
]


def sessions_of(url: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx2.get(f"{url}/api/v1/sessions", headers=headers).json()[
        "items"
    ]
    return items


def test_models_lists_the_profiles(start_server: StartServer) -> None:
    url = start_server(api_keys=KEYS)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice")
    assert [m.id for m in client.models.list()] == ["sage", "sage-deep", "sage-multi"]


def test_sync_sdk_answer_with_steps_as_reasoning(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(TOOL_SCRIPT, tools=word_count_tools(), api_keys=KEYS)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice")
    completion = client.chat.completions.create(
        model="sage",
        messages=[
            {"role": "system", "content": "Answer tersely."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "How many words in 'a b c'?"},
        ],
    )
    message = completion.choices[0].message
    assert message.content == "Counting. There are 3 words."
    reasoning = message.model_extra["reasoning_content"]  # type: ignore[index]
    assert "▶ router" in reasoning and "route: single agent (router: one step)" in reasoning
    assert 'tool word_count({"text": "a b c"})' in reasoning
    assert "→ word_count ok in" in reasoning and ": 3\n" in reasoning
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "sage"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    # The client's history reached the model as turns; its system message as
    # the client's instructions (data), not as Sage's system prompt.
    assert mock_llm.roles[0] == "router"
    sent = mock_llm.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:]] == [
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "How many words in 'a b c'?"),
    ]
    assert "Answer tersely." in sent[0]["content"]
    # Stateless: the throwaway session is gone once the answer is out.
    assert sessions_of(url, ALICE) == []


def test_sync_sdk_stream(start_server: StartServer) -> None:
    url = start_server(TOOL_SCRIPT, tools=word_count_tools())
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused-in-local-mode")
    stream = client.chat.completions.create(
        model="sage",
        messages=[{"role": "user", "content": "How many words in 'a b c'?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    content, reasoning, finish, usage = "", "", None, None
    order: list[str] = []
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            extra = choice.delta.model_extra or {}
            if choice.delta.content:
                content += choice.delta.content
                order.append("content")
            if extra.get("reasoning_content"):
                reasoning += extra["reasoning_content"]
                order.append("reasoning")
            finish = choice.finish_reason or finish
    assert content == "Counting. There are 3 words."
    assert "tool word_count(" in reasoning and "→ word_count ok" in reasoning
    assert order[0] == "reasoning" and "content" in order
    assert finish == "stop"
    assert usage is not None and usage.total_tokens > 0
    assert sessions_of(url) == []


async def test_async_sdk_stream_and_whole(start_server: StartServer) -> None:
    url = start_server(
        [
            ROUTE_SIMPLE,
            Turn(role="simple", text="First answer."),
            ROUTE_SIMPLE,
            Turn(role="simple", text="Second."),
        ]
    )
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x") as client:
        whole = await client.chat.completions.create(
            model="sage", messages=[{"role": "user", "content": "one"}]
        )
        assert whole.choices[0].message.content == "First answer."
        stream = await client.chat.completions.create(
            model="sage", messages=[{"role": "user", "content": "two"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Second."


def test_profiles_choose_the_path(start_server: StartServer, mock_llm: MockLLMServer) -> None:
    url = start_server(
        [Turn(role="analysis", text="Think it through."), Turn(role="simple", text="Deep answer.")]
    )
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x")
    completion = client.chat.completions.create(
        model="sage-deep", messages=[{"role": "user", "content": "ponder"}]
    )
    assert completion.choices[0].message.content == "Deep answer."
    reasoning = completion.choices[0].message.model_extra["reasoning_content"]  # type: ignore[index]
    assert "route: deep thinking + single agent (options: given in the request)" in reasoning
    assert "[analysis] Think it through." in reasoning
    # Both flags given: the router made no LLM call.
    assert mock_llm.roles == ["analysis", "simple"]


def openai_error(response: httpx2.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


def test_wrong_key_gets_the_openai_401(start_server: StartServer) -> None:
    url = start_server(api_keys=KEYS)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="sage", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    for path, method in [("/v1/chat/completions", "POST"), ("/v1/models", "GET")]:
        response = httpx2.request(method, url + path, json={}, headers={})
        assert response.status_code == 401
        error = openai_error(response)
        assert error["type"] == "invalid_request_error"
        assert "Authorization" in error["message"]


@pytest.mark.parametrize(
    ("body", "status", "param", "words"),
    [
        ({"model": "sage"}, 400, "messages", "Field required"),
        ({"model": "sage", "messages": []}, 400, "messages", "at least 1"),
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}, 404, "model", "sage"),
        (
            {"model": "sage", "messages": [{"role": "assistant", "content": "x"}]},
            400,
            "messages",
            "last message",
        ),
        (
            {"model": "sage", "messages": [{"role": "user", "content": "  "}]},
            400,
            "messages",
            "empty",
        ),
        (
            {"model": "sage", "messages": [{"role": "user", "content": "x"}], "n": 2},
            400,
            "n",
            "n > 1",
        ),
        (
            {
                "model": "sage",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function"}],
            },
            400,
            "tools",
            "client-side tools",
        ),
        (
            {
                "model": "sage",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            400,
            "messages",
            "image_url",
        ),
        (
            {
                "model": "sage",
                "messages": [
                    {"role": "tool", "content": "42", "tool_call_id": "c1"},
                    {"role": "user", "content": "x"},
                ],
            },
            400,
            "messages",
            "tool messages",
        ),
        (
            {"model": "sage", "messages": [{"role": "robot", "content": "x"}]},
            400,
            "messages.0.role",
            "Input should be",
        ),
    ],
)
def test_bad_requests_get_openai_errors(
    start_server: StartServer, body: dict[str, Any], status: int, param: str, words: str
) -> None:
    url = start_server()
    response = httpx2.post(f"{url}/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = openai_error(response)
    assert error["param"] == param
    assert words in error["message"]
    assert sessions_of(url) == []  # nothing was left behind


def test_invalid_json_body(start_server: StartServer) -> None:
    url = start_server()
    response = httpx2.post(
        f"{url}/v1/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in openai_error(response)["message"]


def test_session_header_continues_a_stored_session(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [
            Turn(role="simple", text="Paris."),
            ROUTE_SIMPLE,
            Turn(role="simple", text="About 2 million."),
        ]
    )
    first = httpx2.post(
        f"{url}/api/v1/chat",
        json={"message": "Capital of France?", "deep_thinking": False, "multi_agent": False},
    )
    sid = first.headers["x-session-id"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x")
    raw = client.chat.completions.with_raw_response.create(
        model="sage",
        # With the header only the last message is new: Sage has the history.
        messages=[
            {"role": "user", "content": "ignored"},
            {"role": "user", "content": "Population?"},
        ],
        extra_headers={"X-Sage-Session-Id": sid},
    )
    assert raw.headers["x-sage-session-id"] == sid
    assert raw.parse().choices[0].message.content == "About 2 million."
    sent = [(m["role"], m["content"]) for m in mock_llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Population?"),
    ]
    detail = httpx2.get(f"{url}/api/v1/sessions/{sid}").json()
    assert len(detail["runs"]) == 2  # kept, with both turns

    missing = httpx2.post(
        f"{url}/v1/chat/completions",
        json={"model": "sage", "messages": [{"role": "user", "content": "x"}]},
        headers={"X-Sage-Session-Id": "ses_nope"},
    )
    assert missing.status_code == 404
    assert openai_error(missing)["code"] == "session_not_found"


def test_failed_run_is_an_openai_error(start_server: StartServer) -> None:
    # The router's call is refused: the run fails, and says why.
    url = start_server([Turn(text="x", faults={"http_status": 400, "fail_times": 9})])
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    messages: Any = [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]
    with pytest.raises(openai.APIStatusError) as whole:
        client.chat.completions.create(model="sage", messages=messages)
    assert whole.value.status_code == 502 and "HTTP 400" in whole.value.message
    assert sessions_of(url) == []

    with pytest.raises(openai.APIError) as streamed:
        for _ in client.chat.completions.create(model="sage", messages=messages, stream=True):
            pass
    assert "HTTP 400" in streamed.value.message
    assert sessions_of(url) == []
