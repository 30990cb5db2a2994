"""Structured output: response_format fallback, capability caching, parsing and
the repair round-trip; in-process with ScriptedLLM and over HTTP with the mock."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from sagents.llm import (
    LLMOutputInvalid,
    LLMRequest,
    LLMRequestRejected,
    UsageReport,
    collect_text,
    complete_json,
    complete_json_with_usage,
)
from sagents.llm.structured import extract_json
from sagents.testing import Faults, MockLLMServer, Script, ScriptedLLM, Turn, Usage
from tests.llm.conftest import ModelFactory

ASK = [{"role": "user", "content": "Should we think deeply?"}]


class Route(BaseModel):
    deep_thinking: bool
    reason: str = Field(min_length=1)


GOOD = {"deep_thinking": True, "reason": "multi-step question"}


async def test_happy_path_uses_json_schema_and_remembers_it() -> None:
    llm = ScriptedLLM([Turn(json=GOOD)])
    route = await complete_json(llm, "router", ASK, Route)

    assert route == Route(**GOOD)
    sent = llm.requests[0]
    assert sent.response_format is not None
    assert sent.response_format["type"] == "json_schema"
    assert sent.response_format["json_schema"]["name"] == "Route"
    assert sent.response_format["json_schema"]["strict"] is True
    strict = sent.response_format["json_schema"]["schema"]
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["deep_thinking", "reason"]
    assert sent.messages[1:] == ASK
    assert sent.messages[0]["role"] == "system"
    assert "JSON only" in sent.messages[0]["content"]
    assert llm.capabilities.structured_mode("scripted-router") == "json_schema"


async def test_fenced_and_chatty_answers_are_parsed() -> None:
    answer = 'Sure!\n```json\n{"deep_thinking": false, "reason": "simple"}\n```\nDone.'
    llm = ScriptedLLM([Turn(text=answer)])
    assert await complete_json(llm, "router", ASK, Route) == Route(
        deep_thinking=False, reason="simple"
    )


def test_extract_json_drops_think_blocks_and_prose() -> None:
    assert extract_json('<think>{"no": 1}</think>\n{"a": 1}') == '{"a": 1}'
    assert extract_json('The answer is {"a": {"b": 2}} as asked.') == '{"a": {"b": 2}}'
    assert extract_json("```\n[1, 2]\n```") == "[1, 2]"


async def test_the_instruction_joins_an_existing_system_prompt() -> None:
    llm = ScriptedLLM([Turn(json=GOOD)])
    system = {"role": "system", "content": "You are the router."}
    await complete_json(llm, "router", [system, *ASK], Route)

    sent = llm.requests[0].messages
    assert [message["role"] for message in sent] == ["system", "user"]
    assert sent[0]["content"].startswith("You are the router.\n\nAnswer with JSON only")


async def test_malformed_output_is_repaired_once() -> None:
    llm = ScriptedLLM(
        [
            Turn(json=GOOD, faults=Faults(malformed_json=True), usage=Usage(output_tokens=7)),
            Turn(json=GOOD, usage=Usage(output_tokens=9)),
        ]
    )
    route, usage = await complete_json_with_usage(llm, "router", ASK, Route)

    assert route == Route(**GOOD)
    assert [report.output_tokens for report in usage] == [7, 9]
    repair = llm.requests[1]
    bad_answer, correction = repair.messages[-2], repair.messages[-1]
    assert bad_answer["role"] == "assistant"
    assert bad_answer["content"] == Turn(json=GOOD, faults=Faults(malformed_json=True)).content()
    assert correction["role"] == "user"
    assert "not valid" in correction["content"]
    assert repair.response_format == llm.requests[0].response_format


async def test_schema_violations_are_described_to_the_model() -> None:
    llm = ScriptedLLM([Turn(json={"deep_thinking": "maybe"}), Turn(json=GOOD)])
    await complete_json(llm, "router", ASK, Route)

    correction = llm.requests[1].messages[-1]["content"]
    assert "deep_thinking" in correction
    assert "reason: Field required" in correction


async def test_invalid_twice_raises_output_invalid() -> None:
    llm = ScriptedLLM([Turn(json={"deep_thinking": True}), Turn(json={"deep_thinking": True})])
    with pytest.raises(LLMOutputInvalid) as caught:
        await complete_json(llm, "router", ASK, Route)

    assert "Route" in str(caught.value)
    assert "reason: Field required" in str(caught.value)
    assert len(llm.requests) == 2


async def test_max_repairs_zero_fails_on_the_first_bad_answer() -> None:
    llm = ScriptedLLM([Turn(text="not json at all")])
    with pytest.raises(LLMOutputInvalid):
        await complete_json(llm, "router", ASK, Route, max_repairs=0)
    assert len(llm.requests) == 1


async def test_falls_back_through_every_mode_in_process() -> None:
    llm = ScriptedLLM(
        Script(turns=[Turn(json=GOOD)], reject_response_formats=["json_schema", "json_object"])
    )
    assert await complete_json(llm, "router", ASK, Route) == Route(**GOOD)

    formats = [request.response_format for request in llm.requests]
    assert [f and f["type"] for f in formats] == ["json_schema", "json_object", None]
    assert "Schema:" in llm.requests[-1].messages[0]["content"]  # plain prompting
    assert llm.capabilities.structured_mode("scripted-router") == "prompt"


async def test_capabilities_are_kept_per_model() -> None:
    llm = ScriptedLLM(
        Script(turns=[Turn(json=GOOD), Turn(json=GOOD)], reject_response_formats=["json_schema"])
    )
    await complete_json(llm, "router", ASK, Route)
    await complete_json(llm, "judge", ASK, Route)

    # Each model (one per role here) finds out for itself.
    assert llm.capabilities.structured_mode("scripted-router") == "json_object"
    assert llm.capabilities.structured_mode("scripted-judge") == "json_object"
    assert len(llm.requests) == 4


async def test_other_rejections_are_not_fallen_back_from() -> None:
    llm = ScriptedLLM([Turn(json=GOOD, faults=Faults(http_status=401))])
    with pytest.raises(LLMRequestRejected) as caught:
        await complete_json(llm, "router", ASK, Route)
    assert caught.value.status_code == 401
    assert len(llm.requests) == 1
    assert llm.capabilities.report() == {}


async def test_collect_text_returns_text_and_usage() -> None:
    llm = ScriptedLLM([Turn(text="all of it", usage=Usage(input_tokens=3, output_tokens=4))])
    text, usage = await collect_text(llm, LLMRequest(role="simple", messages=ASK))
    assert text == "all of it"
    assert usage == [UsageReport(model="scripted-simple", input_tokens=3, output_tokens=4)]


async def test_fallback_from_json_schema_over_http(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script(
        Script(turns=[Turn(json=GOOD), Turn(json=GOOD)], reject_response_formats=["json_schema"])
    )
    model = make_model()
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)

    sent = [body.get("response_format", {}).get("type") for body in mock.requests]
    assert sent == ["json_schema", "json_object"]
    assert model.capabilities.structured_mode("m") == "json_object"

    # The next call goes straight to the mode that worked.
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    assert len(mock.requests) == 3
    assert mock.requests[2]["response_format"] == {"type": "json_object"}


async def test_repair_over_http(mock: MockLLMServer, make_model: ModelFactory) -> None:
    mock.set_script([Turn(json=GOOD, faults=Faults(malformed_json=True)), Turn(json=GOOD)])
    route, usage = await complete_json_with_usage(make_model(), "router", ASK, Route)

    assert route == Route(**GOOD)
    assert len(usage) == 2
    assert mock.requests[1]["messages"][-2]["role"] == "assistant"
