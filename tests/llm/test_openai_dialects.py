"""OpenAIChatModel against each provider dialect of the mock, over HTTP:
reasoning never reaches the answer text, tool calls come through whatever
their shape, usage is reported or estimated, refused optional parameters are
learned once, keep-alive comments are skipped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sagents.llm import (
    LLMChunk,
    LLMRequest,
    LLMRequestRejected,
    LLMStreamBroken,
    OpenAIChatModel,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from sagents.testing import DIALECT_NAMES, MockLLMServer, Script, ScriptedToolCall, Turn, Usage
from tests.llm.conftest import make_settings

HELLO = [{"role": "user", "content": "What is the weather in Paris and the time there?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    for name in ("weather", "clock")
]
CALLS = [
    ScriptedToolCall(name="weather", arguments={"city": "Paris, tomorrow morning"}),
    ScriptedToolCall(name="clock", arguments={"city": "Paris"}),
]


@pytest.fixture
async def connect() -> AsyncIterator[Any]:
    started: list[tuple[MockLLMServer, OpenAIChatModel]] = []

    def start(dialect: str, script: Any, **settings: Any) -> tuple[MockLLMServer, OpenAIChatModel]:
        server = MockLLMServer(script, dialect=dialect)
        server.start()
        model = OpenAIChatModel(make_settings(server.base_url, **settings))
        started.append((server, model))
        return server, model

    yield start
    for server, model in started:
        await model.aclose()
        server.stop()


async def collect(model: OpenAIChatModel, **request: Any) -> list[LLMChunk]:
    return [c async for c in model.stream(LLMRequest(role="simple", messages=HELLO, **request))]


def text_of(chunks: list[LLMChunk], kind: type[TextDelta | ReasoningDelta]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, kind))


def calls_of(chunks: list[LLMChunk]) -> dict[int, tuple[str | None, str | None, Any]]:
    parts: dict[int, list[ToolCallDelta]] = {}
    for chunk in chunks:
        if isinstance(chunk, ToolCallDelta):
            parts.setdefault(chunk.index, []).append(chunk)
    return {
        index: (ps[0].id, ps[0].name, json.loads("".join(p.arguments for p in ps)))
        for index, ps in parts.items()
    }


@pytest.mark.parametrize("dialect", DIALECT_NAMES)
async def test_reasoning_never_reaches_the_answer_text(connect: Any, dialect: str) -> None:
    thought = "The user wants weather. I should be brief."
    _, model = connect(dialect, [Turn(reasoning=thought, text="It is sunny in Paris.")])
    chunks = await collect(model)
    assert text_of(chunks, TextDelta) == "It is sunny in Paris."
    assert text_of(chunks, ReasoningDelta).strip() == thought
    assert isinstance(chunks[-1], StreamEnd)


@pytest.mark.parametrize("dialect", DIALECT_NAMES)
async def test_tool_calls_arrive_whole_whatever_their_shape(connect: Any, dialect: str) -> None:
    _server, model = connect(dialect, [Turn(text="Checking.", tool_calls=CALLS)])
    chunks = await collect(model, tools=TOOLS)
    assert calls_of(chunks) == {
        0: ("call_1", "weather", {"city": "Paris, tomorrow morning"}),
        1: ("call_2", "clock", {"city": "Paris"}),
    }
    assert text_of(chunks, TextDelta) == "Checking."
    end = chunks[-1]
    assert isinstance(end, StreamEnd)
    # Ollama ends streamed tool calls with "stop": the calls count, not the word.
    assert end.finish_reason == ("stop" if dialect == "ollama" else "tool_calls")


@pytest.mark.parametrize(
    ("dialect", "estimated"),
    [
        ("openai", False),
        ("vllm", False),
        ("ollama", False),
        ("deepseek", False),
        ("llamacpp", True),
    ],
)
async def test_usage_is_reported_or_estimated(connect: Any, dialect: str, estimated: bool) -> None:
    answer = "Sunny, twenty-two degrees, light wind from the west."
    _server, model = connect(
        dialect, [Turn(text=answer, usage=Usage(input_tokens=40, output_tokens=12))]
    )
    usage = [c for c in await collect(model) if isinstance(c, UsageReport)]
    assert len(usage) == 1
    report = usage[0]
    assert report.estimated is estimated
    if estimated:  # counted by Sage: the question and the answer, roughly
        assert 15 <= report.input_tokens <= 40
        assert 8 <= report.output_tokens <= 20
    else:
        assert (report.input_tokens, report.output_tokens) == (40, 12)
    assert model.capabilities.report()["m"]["usage"] == ("estimated" if estimated else "reported")


async def test_an_estimate_counts_text_held_back_until_the_stream_ended(connect: Any) -> None:
    # All of it could still open a <think> block, so it comes out only at the end.
    _server, model = connect("llamacpp", [Turn(text="<think")])
    chunks = await collect(model)
    assert text_of(chunks, TextDelta) == "<think"
    report = next(c for c in chunks if isinstance(c, UsageReport))
    assert report.estimated and report.output_tokens >= 1


async def test_usage_is_estimated_when_stream_options_are_refused(connect: Any) -> None:
    script = Script(
        turns=[Turn(text="one two three")],
        cycle=True,
        reject_parameters=["stream_options"],
        reject_status=422,
    )
    server, model = connect("openai", script)
    first = await collect(model)
    second = await collect(model)
    assert next(c for c in first if isinstance(c, UsageReport)).estimated
    assert text_of(second, TextDelta) == "one two three"
    sent = ["stream_options" in body for body in server.requests]
    assert sent == [True, False, False]  # one refusal, then never again
    assert "stream_options" in model.capabilities.report()["m"]["refused"]


@pytest.mark.parametrize(
    ("parameter", "status"),
    [("parallel_tool_calls", 400), ("tool_choice", 500), ("strict", 501), ("stream_options", 400)],
)
async def test_refused_parameters_are_dropped_and_remembered(
    connect: Any, parameter: str, status: int
) -> None:
    script = Script(
        turns=[Turn(tool_calls=CALLS[:1]), Turn(text="done")],
        reject_parameters=[parameter],
        reject_status=status,
    )
    server, model = connect("vllm", script)
    assert calls_of(await collect(model, tools=TOOLS))[0][1] == "weather"
    assert text_of(await collect(model, tools=TOOLS), TextDelta) == "done"
    assert len(server.requests) == 3
    assert script.rejected_parameter(server.requests[0]) == parameter
    assert all(script.rejected_parameter(body) is None for body in server.requests[1:])


async def test_deepseek_refuses_strict_tools_once(connect: Any) -> None:
    server, model = connect("deepseek", Script(turns=[Turn(text="a"), Turn(text="b")]))
    await collect(model, tools=TOOLS)
    await collect(model, tools=TOOLS)
    strict = [any(t["function"].get("strict") for t in body["tools"]) for body in server.requests]
    assert strict == [True, False, False]


async def test_a_refusal_at_another_status_is_not_a_missing_feature(connect: Any) -> None:
    script = Script(turns=[Turn(text="a")], reject_parameters=["tool_choice"], reject_status=403)
    server, model = connect("openai", script)
    with pytest.raises(LLMRequestRejected) as caught:
        await collect(model, tools=TOOLS)
    assert caught.value.status_code == 403
    assert len(server.requests) == 1
    assert model.capabilities.allows("m", "tool_choice")


async def test_deepseek_keep_alive_comments_are_skipped(connect: Any) -> None:
    _, model = connect("deepseek", [Turn(text="Hello there.")])
    assert text_of(await collect(model), TextDelta) == "Hello there."


async def test_deepseek_out_of_resources_is_a_broken_stream(connect: Any) -> None:
    _, model = connect(
        "deepseek", [Turn(text="Half an", finish_reason="insufficient_system_resource")]
    )
    with pytest.raises(LLMStreamBroken, match="ran out of resources"):
        await collect(model)


async def test_think_blocks_in_the_content_are_not_stored_as_answer(connect: Any) -> None:
    _, model = connect("ollama", [Turn(reasoning="private thoughts", text="Public answer.")])
    chunks = await collect(model)
    assert "think" not in text_of(chunks, TextDelta)
    assert "private thoughts" in text_of(chunks, ReasoningDelta)
