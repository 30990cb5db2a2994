"""The mock OpenAI-compatible server: its wire format (raw HTTP and the real
openai SDK), script control endpoints, faults, ServerThread and the CLI entry."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from starlette.applications import Starlette

from sagents.testing import (
    Faults,
    MockLLMServer,
    Script,
    ScriptedToolCall,
    ServerThread,
    Turn,
    Usage,
)
from sagents.testing.script import DEFAULT_SCRIPT_TEXT

CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[MockLLMServer]:
    with MockLLMServer(Script()) as mock:
        yield mock


@asynccontextmanager
async def sdk(server: MockLLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    try:
        yield client
    finally:
        await client.close()


def sse_payloads(raw: str) -> list[str]:
    frames = raw.split("\n\n")
    assert frames[-1] == ""  # every frame ends with a blank line
    assert all(frame.startswith("data: ") for frame in frames[:-1])
    return [frame.removeprefix("data: ") for frame in frames[:-1]]


def post_chat(server: MockLLMServer, body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.post(f"{server.base_url}/chat/completions", json=body, headers=headers)


def test_stream_wire_format_matches_openai(server: MockLLMServer) -> None:
    server.set_script([Turn(text="Hello big world", usage=Usage(input_tokens=5, output_tokens=3))])
    response = post_chat(
        server,
        {"model": "m", "messages": CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["model"] == "m" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks[:3]]
    assert deltas[0] == {"role": "assistant", "content": "Hello "}
    assert [delta["content"] for delta in deltas] == ["Hello ", "big ", "world"]
    assert chunks[3]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert chunks[4]["choices"] == []
    assert chunks[4]["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def test_usage_frame_only_when_asked(server: MockLLMServer) -> None:
    server.set_script([Turn(text="hi")])
    payloads = sse_payloads(post_chat(server, {"messages": CHAT, "stream": True}).text)
    assert not any("usage" in json.loads(p) for p in payloads[:-1])


async def test_the_openai_sdk_parses_the_stream(server: MockLLMServer) -> None:
    server.set_script(
        [
            Turn(
                reasoning="thinking",
                text="Calling.",
                tool_calls=[ScriptedToolCall(name="lookup", arguments={"key": "value" * 10})],
            )
        ]
    )
    async with sdk(server) as client:
        stream = await client.chat.completions.create(
            model="m",
            messages=CHAT,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]

    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    extras = [c.choices[0].delta.model_extra or {} for c in chunks if c.choices]
    reasoning = "".join(extra.get("reasoning_content", "") for extra in extras)
    arguments = "".join(
        call.function.arguments or ""
        for c in chunks
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
        if call.function
    )
    assert content == "Calling."
    assert reasoning == "thinking"
    assert json.loads(arguments) == {"key": "value" * 10}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None


async def test_non_streaming_completion(server: MockLLMServer) -> None:
    server.set_script(
        [Turn(text="Plain answer.", tool_calls=[ScriptedToolCall(name="f", arguments={"a": 1})])]
    )
    async with sdk(server) as client:
        completion = await client.chat.completions.create(model="m", messages=CHAT)

    message = completion.choices[0].message
    assert message.content == "Plain answer."
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.id == "call_1"
    assert call.function.name == "f"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"a": 1}  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None and completion.usage.prompt_tokens == 1


def test_models_endpoint(server: MockLLMServer) -> None:
    body = httpx2.get(f"{server.base_url}/models").json()
    assert body["object"] == "list"
    assert body["data"][0]["id"] == "sage-mock"


def test_control_endpoints_replace_script_and_list_requests(server: MockLLMServer) -> None:
    root = server.base_url.removesuffix("/v1")
    replaced = httpx2.post(f"{root}/_mock/script", json={"turns": [{"text": "from HTTP"}]})
    assert replaced.json() == {"ok": True, "turns": 1}
    reply = post_chat(server, {"model": "m", "messages": CHAT}, **{"X-Sage-Role": "simple"})
    assert reply.json()["choices"][0]["message"]["content"] == "from HTTP"

    log = httpx2.get(f"{root}/_mock/requests").json()
    assert log["requests"] == [{"model": "m", "messages": CHAT}]
    assert log["roles"] == ["simple"]
    assert server.requests == log["requests"]

    assert httpx2.delete(f"{root}/_mock/requests").json()["requests"] == []
    bad = httpx2.post(f"{root}/_mock/script", json={"turns": [{"txt": "typo"}]})
    assert bad.status_code == 400
    assert "Invalid script" in bad.json()["error"]["message"]


def test_role_header_selects_the_turn(server: MockLLMServer) -> None:
    server.set_script([Turn(role="router", text="route"), Turn(role="simple", text="answer")])
    simple = post_chat(server, {"messages": CHAT}, **{"X-Sage-Role": "simple"})
    anyone = post_chat(server, {"messages": CHAT})
    assert simple.json()["choices"][0]["message"]["content"] == "answer"
    assert anyone.json()["choices"][0]["message"]["content"] == "route"


def test_http_fault_then_success(server: MockLLMServer) -> None:
    server.set_script([Turn(text="ok", faults=Faults(http_status=503, fail_times=2))])
    statuses = [post_chat(server, {"messages": CHAT}) for _ in range(3)]

    assert [r.status_code for r in statuses] == [503, 503, 200]
    error = statuses[0].json()["error"]
    assert error["type"] == "server_error"
    assert "503" in error["message"]


def test_cut_stream_drops_the_connection(server: MockLLMServer) -> None:
    server.set_script([Turn(text="a b c d e", faults=Faults(cut_after_chunks=2))])
    received: list[str] = []
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        httpx2.stream(
            "POST", f"{server.base_url}/chat/completions", json={"messages": CHAT, "stream": True}
        ) as response,
    ):
        for line in response.iter_lines():
            received.append(line)
    assert sum(line.startswith("data: ") for line in received) == 2
    assert "data: [DONE]" not in received


async def test_the_openai_sdk_raises_on_a_cut_stream(server: MockLLMServer) -> None:
    server.set_script([Turn(text="a b c d e", faults=Faults(cut_after_chunks=2))])
    contents: list[str] = []
    async with sdk(server) as client:
        stream = await client.chat.completions.create(model="m", messages=CHAT, stream=True)
        with pytest.raises(openai.APIConnectionError):
            async for chunk in stream:
                contents.append(chunk.choices[0].delta.content or "")
    assert contents == ["a ", "b "]


def test_exhausted_script_answers_410(server: MockLLMServer) -> None:
    response = post_chat(server, {"messages": CHAT}, **{"X-Sage-Role": "judge"})
    assert response.status_code == 410
    assert response.json()["error"]["type"] == "script_exhausted"
    assert "'judge'" in response.json()["error"]["message"]


def test_rejects_configured_response_formats(server: MockLLMServer) -> None:
    server.set_script(Script(turns=[Turn(json={"a": 1})], reject_response_formats=["json_schema"]))
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    rejected = post_chat(server, {"messages": CHAT, "response_format": schema})
    accepted = post_chat(server, {"messages": CHAT, "response_format": {"type": "json_object"}})

    assert rejected.status_code == 400
    assert "response_format" in rejected.json()["error"]["message"]
    assert json.loads(accepted.json()["choices"][0]["message"]["content"]) == {"a": 1}


def test_default_script_greets_forever() -> None:
    with MockLLMServer() as mock:
        answers = [
            post_chat(mock, {"messages": CHAT}).json()["choices"][0]["message"]["content"]
            for _ in range(3)
        ]
    assert answers == [DEFAULT_SCRIPT_TEXT] * 3


def test_server_thread_starts_serves_and_stops() -> None:
    thread = ServerThread(Starlette())
    root = thread.start()
    assert root == f"http://127.0.0.1:{thread.port}"
    assert httpx2.get(f"{root}/missing").status_code == 404
    thread.stop()
    thread.stop()  # idempotent
    assert not thread.running
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{root}/missing")


def test_server_thread_reports_a_failed_startup() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database unavailable")
        yield

    thread = ServerThread(Starlette(lifespan=broken), lifespan="on")
    with pytest.raises(RuntimeError, match="failed to start"):
        thread.start()
    assert not thread.running


def test_run_mock_llm_serves_the_default_greeting() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "from sagents.testing.mock_server import run_mock_llm; "
        f"run_mock_llm(None, '127.0.0.1', {port})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx2.get(f"{url}/models")
                break
            except httpx2.ConnectError:
                assert process.poll() is None, "run_mock_llm exited early"
                assert time.monotonic() < deadline, "run_mock_llm did not start"
                time.sleep(0.05)
        reply = httpx2.post(f"{url}/chat/completions", json={"messages": CHAT})
        assert reply.json()["choices"][0]["message"]["content"] == DEFAULT_SCRIPT_TEXT
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/v1" in output.decode()
