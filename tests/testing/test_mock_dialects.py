"""The mock LLM's dialects: each server's documented behaviour on the wire
(raw HTTP), the real openai SDK reading every dialect, Retry-After faults,
request timestamps, parameter refusals and schema-valid default answers."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from pydantic import BaseModel

from sagents.testing import DIALECT_NAMES, Faults, MockLLMServer, Script, ScriptedToolCall, Turn
from sagents.testing.mock_json import instance_for, requested_schema

CHAT = [{"role": "user", "content": "hi"}]
CALLS = [
    ScriptedToolCall(name="search", arguments={"query": "weather in Paris tomorrow"}),
    ScriptedToolCall(name="clock", arguments={"zone": "Europe/Paris"}),
]


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[MockLLMServer] = []

    def start(dialect: str, script: Any = None) -> MockLLMServer:
        server = MockLLMServer(Script() if script is None else script, dialect=dialect)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def post(server: MockLLMServer, body: dict[str, Any], path: str = "/chat/completions") -> Any:
    return httpx2.post(f"{server.base_url}{path}", json={"messages": CHAT, **body}, timeout=10)


def stream_lines(server: MockLLMServer, body: dict[str, Any]) -> list[str]:
    response = post(server, {"stream": True, **body})
    assert response.status_code == 200, response.text
    return [line for line in response.text.split("\n") if line]


def chunks(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


def deltas(lines: list[str]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks(lines) if c["choices"]]


def finish_reasons(lines: list[str]) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks(lines) if c["choices"]][-1:]


def usage_chunks(lines: list[str]) -> list[dict[str, Any]]:
    return [c for c in chunks(lines) if c.get("usage")]


SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}


# --- structured output refusals, as each server answers them ------------------


def test_llamacpp_answers_500_to_json_schema(serve: Any) -> None:
    server = serve("llamacpp", [Turn(json={"a": 1})])
    refused = post(server, {"response_format": SCHEMA_FORMAT})
    assert refused.status_code == 500
    assert refused.json() == {
        "error": {
            "code": 500,
            "message": 'response_format type must be one of "text" or "json_object", '
            "but got: json_schema",
            "type": "server_error",
        }
    }
    accepted = post(server, {"response_format": {"type": "json_object"}})
    assert json.loads(accepted.json()["choices"][0]["message"]["content"]) == {"a": 1}


def test_deepseek_answers_400_to_json_schema_and_to_strict_tools(serve: Any) -> None:
    server = serve("deepseek", [Turn(text="fine")])
    refused = post(server, {"response_format": SCHEMA_FORMAT})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "This response_format type is unavailable now"
    tools = [
        {"type": "function", "function": {"name": "f", "parameters": {}}},
        {"type": "function", "function": {"name": "g", "parameters": {}, "strict": True}},
    ]
    strict = post(server, {"tools": tools})
    assert strict.status_code == 400
    assert strict.json()["error"]["param"] == "tools[1].function.strict"
    tools[1]["function"].pop("strict")
    assert post(server, {"tools": tools}).status_code == 200


@pytest.mark.parametrize("dialect", ["openai", "vllm", "ollama"])
def test_servers_with_structured_output_accept_json_schema(serve: Any, dialect: str) -> None:
    server = serve(dialect, [Turn(json={"a": 1})])
    assert post(server, {"response_format": SCHEMA_FORMAT}).status_code == 200


def test_openai_refuses_parallel_tool_calls_without_tools(serve: Any) -> None:
    server = serve("openai", [Turn(text="ok"), Turn(text="ok")])
    refused = post(server, {"parallel_tool_calls": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "parallel_tool_calls"
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert post(server, {"parallel_tool_calls": True, "tools": tools}).status_code == 200


def test_vllm_errors_are_flat_objects(serve: Any) -> None:
    server = serve("vllm", Script(turns=[Turn(text="x")], reject_parameters=["tool_choice"]))
    refused = post(server, {"tool_choice": "auto"})
    assert refused.status_code == 400
    assert refused.json() == {
        "object": "error",
        "message": "Unsupported parameter: 'tool_choice'",
        "type": "BadRequestError",
        "param": "tool_choice",
        "code": 400,
    }


@pytest.mark.parametrize("status", [422, 500, 501])
def test_scripted_parameter_refusals_use_the_chosen_status(serve: Any, status: int) -> None:
    script = Script(
        turns=[Turn(text="x")], reject_parameters=["stream_options"], reject_status=status
    )
    server = serve("openai", script)
    refused = post(server, {"stream": True, "stream_options": {"include_usage": True}})
    assert refused.status_code == status
    assert refused.json()["error"]["param"] == "stream_options"
    assert post(server, {"stream": True}).status_code == 200


# --- usage ------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["openai", "vllm", "ollama"])
def test_usage_only_on_request(serve: Any, dialect: str) -> None:
    server = serve(dialect, Script(turns=[Turn(text="a b c")], cycle=True))
    assert usage_chunks(stream_lines(server, {})) == []
    asked = usage_chunks(stream_lines(server, {"stream_options": {"include_usage": True}}))
    assert len(asked) == 1 and asked[0]["choices"] == []  # its own chunk, empty choices


def test_llamacpp_never_sends_usage_when_streaming(serve: Any) -> None:
    server = serve("llamacpp", [Turn(text="a b c")])
    assert usage_chunks(stream_lines(server, {"stream_options": {"include_usage": True}})) == []


def test_deepseek_always_sends_usage_on_the_finish_chunk(serve: Any) -> None:
    server = serve("deepseek", [Turn(text="a b c")])
    with_usage = usage_chunks(stream_lines(server, {}))
    assert len(with_usage) == 1
    assert with_usage[0]["choices"][0]["finish_reason"] == "stop"  # no usage-only chunk


# --- stream shapes --------------------------------------------------------------


def test_openai_streams_tool_arguments_in_pieces(serve: Any) -> None:
    server = serve("openai", [Turn(tool_calls=CALLS)])
    calls = [d["tool_calls"] for d in deltas(stream_lines(server, {})) if "tool_calls" in d]
    assert all(len(c) == 1 for c in calls)
    assert len(calls) > 4  # id+name first, then the arguments in slices
    assert all("index" in c[0] for c in calls)


def test_ollama_sends_all_tool_calls_whole_in_one_chunk_and_finishes_with_stop(
    serve: Any,
) -> None:
    server = serve("ollama", [Turn(tool_calls=CALLS)])
    lines = stream_lines(server, {})
    calls = [d["tool_calls"] for d in deltas(lines) if "tool_calls" in d]
    assert len(calls) == 1 and len(calls[0]) == 2
    assert [json.loads(c["function"]["arguments"]) for c in calls[0]] == [
        call.arguments for call in CALLS
    ]
    assert all("index" not in c for c in calls[0])
    assert finish_reasons(lines) == ["stop"]


def test_ollama_puts_qwen_thinking_in_the_content_with_split_tags(serve: Any) -> None:
    server = serve("ollama", [Turn(reasoning="Let me think.", text="Forty-two.")])
    contents = [d.get("content", "") for d in deltas(stream_lines(server, {}))]
    assert "".join(contents) == "<think>\nLet me think.</think>\n\nForty-two."
    assert "<think>" not in contents and "</think>" not in "".join(contents[:2])


@pytest.mark.parametrize(
    ("dialect", "field"), [("vllm", "reasoning"), ("deepseek", "reasoning_content")]
)
def test_reasoning_fields(serve: Any, dialect: str, field: str) -> None:
    server = serve(dialect, [Turn(reasoning="Hmm, let me see.", text="Yes.")])
    found = deltas(stream_lines(server, {}))
    assert "".join(d.get(field, "") for d in found) == "Hmm, let me see."
    assert "".join(d.get("content", "") for d in found) == "Yes."


def test_deepseek_sends_keep_alive_comments_first(serve: Any) -> None:
    server = serve("deepseek", [Turn(text="hi")])
    lines = stream_lines(server, {})
    assert lines[:2] == [": keep-alive", ": keep-alive"]
    assert lines[2].startswith("data: {")


@pytest.mark.parametrize("dialect", DIALECT_NAMES)
async def test_the_openai_sdk_reads_every_dialect(serve: Any, dialect: str) -> None:
    server = serve(dialect, [Turn(reasoning="r", text="Calling.", tool_calls=CALLS)])
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    try:
        stream = await client.chat.completions.create(
            model="m", messages=CHAT, stream=True, stream_options={"include_usage": True}
        )
        received = [chunk async for chunk in stream]
    finally:
        await client.close()
    arguments = "".join(
        call.function.arguments or ""
        for c in received
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
        if call.function
    )
    assert "Calling." in "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert '"weather in Paris tomorrow"' in arguments


# --- faults, timestamps, routes -------------------------------------------------


def test_retry_after_is_sent_with_the_fault_and_requests_are_timed(serve: Any) -> None:
    date = email.utils.formatdate(time.time() + 3, usegmt=True)
    server = serve(
        "openai",
        [
            Turn(text="a", faults=Faults(http_status=429, retry_after="2")),
            Turn(text="b", faults=Faults(http_status=503, retry_after=date)),
        ],
    )
    before = time.time()
    first = post(server, {})
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert post(server, {}).status_code == 200
    second = post(server, {})
    assert (second.status_code, second.headers["retry-after"]) == (503, date)
    times = server.times
    assert len(times) == 3 and before <= times[0] <= times[1] <= times[2] <= time.time()
    root = server.base_url.removesuffix("/v1")
    assert httpx2.get(f"{root}/_mock/requests").json()["times"] == times


def test_azure_deployment_route(serve: Any) -> None:
    server = serve("openai", [Turn(text="from azure")])
    root = server.base_url.removesuffix("/v1")
    reply = httpx2.post(
        f"{root}/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
        json={"messages": CHAT},
    )
    assert reply.json()["choices"][0]["message"]["content"] == "from azure"
    assert server.paths == ["/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21"]


# --- schema-valid default answers ----------------------------------------------


class Route(BaseModel):
    deep_thinking: bool
    multi_agent: bool
    reason: str = ""


class Item(BaseModel):
    id: str
    tags: list[str] = []


class Plan(BaseModel):
    items: list[Item]
    note: str | None = None
    level: int = 0


def test_default_script_answers_schema_requests_with_valid_json() -> None:
    with MockLLMServer() as server:
        fmt = {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": Route.model_json_schema()},
        }
        by_format = post(server, {"response_format": fmt}).json()
        prompt = "Answer with JSON only.\nSchema: " + json.dumps(Plan.model_json_schema())
        by_prompt = httpx2.post(
            f"{server.base_url}/chat/completions",
            json={"messages": [{"role": "system", "content": prompt}, *CHAT]},
        ).json()
        plain = post(server, {}).json()
    route = Route.model_validate_json(by_format["choices"][0]["message"]["content"])
    assert (route.deep_thinking, route.multi_agent) == (False, False)
    Plan.model_validate_json(by_prompt["choices"][0]["message"]["content"])
    assert plain["choices"][0]["message"]["content"] == "Hello from the Sage mock LLM."


def test_schema_instances_respect_refs_enums_and_min_items() -> None:
    schema = {
        "$defs": {
            "Kind": {"enum": ["b", "c"]},
            "Node": {
                "type": "object",
                "properties": {
                    "kind": {"$ref": "#/$defs/Kind"},
                    "children": {
                        "type": "array",
                        "minItems": 2,
                        "items": {"type": "integer", "minimum": 3},
                    },
                },
            },
        },
        "type": "object",
        "properties": {
            "node": {"$ref": "#/$defs/Node"},
            "name": {"type": "string", "minLength": 6},
        },
    }
    assert instance_for(schema) == {"node": {"kind": "b", "children": [3, 3]}, "name": "mockxx"}
    assert requested_schema({"messages": "not a list"}) is None
    assert (
        requested_schema({"messages": [{"role": "system", "content": "Schema: {broken"}]}) is None
    )


def test_schema_instances_call_finished_work_finished() -> None:
    # the judge's all_done: true ends a multi-agent demo after one round;
    # the router's flags stay false (a greeting takes the simple path)
    schema = {
        "type": "object",
        "properties": {
            "all_done": {"type": "boolean"},
            "complete": {"type": "boolean"},
            "multi_agent": {"type": "boolean"},
            "deep_thinking": {"type": "boolean"},
        },
    }
    assert instance_for(schema) == {
        "all_done": True,
        "complete": True,
        "multi_agent": False,
        "deep_thinking": False,
    }
