"""ScriptedLLM: token streaming, role matching, request recording and faults."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from sagents.llm import (
    LLMChunk,
    LLMError,
    LLMRequest,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMUnavailable,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from sagents.testing import (
    Faults,
    Script,
    ScriptedLLM,
    ScriptedToolCall,
    ScriptExhausted,
    Turn,
    Usage,
)
from sagents.testing.render import split_tokens


def ask(role: str = "simple", content: str = "hi") -> LLMRequest:
    return LLMRequest(role=role, messages=[{"role": "user", "content": content}])


async def collect(llm: ScriptedLLM, request: LLMRequest) -> list[LLMChunk]:
    return [chunk async for chunk in llm.stream(request)]


def text_of(chunks: list[LLMChunk]) -> str:
    return "".join(chunk.text for chunk in chunks if isinstance(chunk, TextDelta))


async def test_streams_one_chunk_per_word() -> None:
    words = " ".join(f"w{i}" for i in range(50))
    chunks = await collect(ScriptedLLM([Turn(text=words)]), ask())

    assert sum(isinstance(chunk, TextDelta) for chunk in chunks) == 50
    assert text_of(chunks) == words
    assert isinstance(chunks[-2], UsageReport)
    assert chunks[-1] == StreamEnd(finish_reason="stop", model="scripted-simple")


def test_token_split_keeps_every_character() -> None:
    text = "  leading, two  spaces\nand a newline "
    assert "".join(split_tokens(text)) == text
    assert split_tokens(text) == ["  leading, ", "two  ", "spaces\n", "and ", "a ", "newline "]
    assert split_tokens("   ") == ["   "]
    assert split_tokens("") == []


async def test_turns_answer_their_own_role_in_order() -> None:
    llm = ScriptedLLM(
        [
            Turn(role="router", json={"route": "simple"}),
            Turn(role="simple", text="answer one"),
            Turn(text="any role"),
            Turn(role="simple", text="answer two"),
        ]
    )
    assert text_of(await collect(llm, ask("simple"))) == "answer one"
    assert text_of(await collect(llm, ask("router"))) == '{"route": "simple"}'
    assert text_of(await collect(llm, ask("judge"))) == "any role"
    assert text_of(await collect(llm, ask("simple"))) == "answer two"
    assert llm.remaining == 0
    assert [request.role for request in llm.requests] == ["simple", "router", "judge", "simple"]


async def test_exhausted_script_names_the_role() -> None:
    llm = ScriptedLLM([Turn(role="router", text="x")])
    with pytest.raises(ScriptExhausted, match="'simple'") as caught:
        await collect(llm, ask("simple"))
    assert isinstance(caught.value, LLMError)


async def test_cycling_script_restarts() -> None:
    llm = ScriptedLLM(Script(turns=[Turn(text="a"), Turn(text="b")], cycle=True))
    answers = [text_of(await collect(llm, ask())) for _ in range(5)]
    assert answers == ["a", "b", "a", "b", "a"]


async def test_records_a_snapshot_of_each_request() -> None:
    llm = ScriptedLLM([Turn(text="ok")])
    messages = [{"role": "user", "content": "first"}]
    await collect(llm, LLMRequest(role="simple", messages=messages))
    messages.append({"role": "assistant", "content": "later"})

    assert llm.requests[0].messages == [{"role": "user", "content": "first"}]
    assert llm.requests_for("simple") == llm.requests
    assert llm.model_for("router") == "scripted-router"


async def test_reasoning_then_text_then_tool_calls() -> None:
    llm = ScriptedLLM(
        [
            Turn(
                reasoning="hmm ok",
                text="Let me look.",
                tool_calls=[
                    ScriptedToolCall(name="search", arguments={"q": "a long query string here"}),
                    ScriptedToolCall(name="raw", arguments='{"x": 1}'),
                ],
            )
        ]
    )
    chunks = await collect(llm, ask())

    order = [type(chunk).__name__ for chunk in chunks]
    assert order[:2] == ["ReasoningDelta", "ReasoningDelta"]
    assert order.index("ToolCallDelta") > order.index("TextDelta")
    calls = [chunk for chunk in chunks if isinstance(chunk, ToolCallDelta)]
    heads = [call for call in calls if call.id is not None]
    assert [(call.id, call.name) for call in heads] == [("call_1", "search"), ("call_2", "raw")]
    first_args = "".join(call.arguments for call in calls if call.index == 0)
    assert json.loads(first_args) == {"q": "a long query string here"}
    assert "".join(call.arguments for call in calls if call.index == 1) == '{"x": 1}'
    assert chunks[-1] == StreamEnd(finish_reason="tool_calls", model="scripted-simple")
    assert any(isinstance(chunk, ReasoningDelta) for chunk in chunks)


async def test_usage_is_scripted_or_counted() -> None:
    llm = ScriptedLLM([Turn(text="a b c", usage=Usage(input_tokens=10, output_tokens=20)), "x"])
    scripted = await collect(llm, ask())
    counted = await collect(llm, ask(content="four words in here"))

    assert UsageReport("scripted-simple", 10, 20) in scripted
    assert UsageReport("scripted-simple", 4, 1) in counted


async def test_server_error_fails_once_then_the_turn_is_served() -> None:
    llm = ScriptedLLM([Turn(text="second try", faults=Faults(http_status=500))])
    with pytest.raises(LLMUnavailable) as caught:
        await collect(llm, ask())
    assert caught.value.status_code == 500
    assert text_of(await collect(llm, ask())) == "second try"


async def test_client_error_is_a_rejection() -> None:
    llm = ScriptedLLM([Turn(text="x", faults=Faults(http_status=404))])
    with pytest.raises(LLMRequestRejected) as caught:
        await collect(llm, ask())
    assert caught.value.status_code == 404


async def test_cut_breaks_the_stream_after_n_chunks() -> None:
    llm = ScriptedLLM([Turn(text="one two three four", faults=Faults(cut_after_chunks=2))])
    received: list[LLMChunk] = []
    with pytest.raises(LLMStreamBroken, match="after 2 chunks"):
        async for chunk in llm.stream(ask()):
            received.append(chunk)
    assert text_of(received) == "one two "


async def test_hang_waits_until_cancelled() -> None:
    llm = ScriptedLLM([Turn(text="never", faults=Faults(hang=True))])
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await collect(llm, ask())
    assert time.monotonic() - started < 1


async def test_token_delay_paces_the_stream() -> None:
    llm = ScriptedLLM([Turn(text="a b c d", faults=Faults(token_delay_s=0.05))])
    started = time.monotonic()
    assert text_of(await collect(llm, ask())) == "a b c d"
    assert time.monotonic() - started >= 0.15  # three gaps between four tokens


async def test_malformed_json_is_not_parseable() -> None:
    turn = Turn(json={"a": [1, 2, 3]}, faults=Faults(malformed_json=True))
    text = text_of(await collect(ScriptedLLM([turn]), ask()))
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_rejected_response_format() -> None:
    llm = ScriptedLLM(Script(turns=[Turn(text="x")], reject_response_formats=["json_schema"]))
    request = LLMRequest(
        role="router", messages=[], response_format={"type": "json_schema", "json_schema": {}}
    )
    with pytest.raises(LLMRequestRejected, match="json_schema") as caught:
        await collect(llm, request)
    assert caught.value.status_code == 400
    assert llm.remaining == 1  # a rejected request consumes no turn


def test_script_loads_from_json(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            {
                "cycle": True,
                "turns": [
                    {"role": "router", "json": {"x": 1}},
                    {"text": "hi", "faults": {"http_status": 429, "fail_times": 2}},
                ],
            }
        )
    )
    script = Script.load(path)
    assert script.cycle
    assert script.turns[0].json_ == {"x": 1}
    assert script.turns[1].faults.http_status == 429

    bare = tmp_path / "turns.json"
    bare.write_text(json.dumps([{"text": "only"}]))
    assert Script.load(bare).turns[0].text == "only"


def test_turn_rejects_text_and_json_together() -> None:
    with pytest.raises(ValidationError, match="either text or json"):
        Turn(text="a", json={"b": 1})
    with pytest.raises(ValidationError):
        Turn.model_validate({"txt": "typo"})
