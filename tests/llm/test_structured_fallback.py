"""Structured output against servers that refuse or ignore response formats:
the refusal statuses and bodies of real servers (through the mock's
dialects), a response that ignores the format, and what is learned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from sagents.llm import LLMRequestRejected, OpenAIChatModel, complete_json
from sagents.llm.structured import strict_schema_of
from sagents.testing import Faults, MockLLMServer, Script, ScriptedLLM, Turn
from tests.llm.conftest import make_settings

ASK = [{"role": "user", "content": "Route this."}]


class Route(BaseModel):
    deep_thinking: bool
    reason: str = ""


GOOD = {"deep_thinking": True, "reason": "because"}


@pytest.fixture
async def dialect_model() -> AsyncIterator[Any]:
    started: list[tuple[MockLLMServer, OpenAIChatModel]] = []

    def start(dialect: str, script: Script) -> tuple[MockLLMServer, OpenAIChatModel]:
        server = MockLLMServer(script, dialect=dialect)
        server.start()
        model = OpenAIChatModel(make_settings(server.base_url))
        started.append((server, model))
        return server, model

    yield start
    for server, model in started:
        await model.aclose()
        server.stop()


def formats(server: MockLLMServer) -> list[str | None]:
    return [(body.get("response_format") or {}).get("type") for body in server.requests]


async def test_llamacpp_500_falls_back_once_without_retrying(dialect_model: Any) -> None:
    server, model = dialect_model("llamacpp", Script(turns=[Turn(json=GOOD)], cycle=True))
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    # The 500 named response_format: not retried (it would fail the same way).
    assert formats(server) == ["json_schema", "json_object"]
    assert model.capabilities.structured_mode("m") == "json_object"
    learned = model.capabilities.report()["m"]
    assert "HTTP 500" in learned["structured_output_reason"]

    server.clear_requests()
    for _ in range(3):
        assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    assert formats(server) == ["json_object"] * 3  # no failing call any more


async def test_deepseek_400_falls_back_to_json_object(dialect_model: Any) -> None:
    server, model = dialect_model("deepseek", Script(turns=[Turn(json=GOOD)]))
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    assert formats(server) == ["json_schema", "json_object"]


@pytest.mark.parametrize("status", [400, 422, 500, 501])
async def test_any_unsupported_status_naming_the_format_falls_back(
    dialect_model: Any, status: int
) -> None:
    script = Script(
        turns=[Turn(json=GOOD)], reject_response_formats=["json_schema"], reject_status=status
    )
    server, model = dialect_model("vllm", script)
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    assert formats(server) == ["json_schema", "json_object"]


async def test_a_500_that_does_not_name_the_format_is_retried_not_fallen_back(
    dialect_model: Any,
) -> None:
    server, model = dialect_model(
        "openai", Script(turns=[Turn(json=GOOD, faults=Faults(http_status=500))])
    )
    assert await complete_json(model, "router", ASK, Route) == Route(**GOOD)
    assert formats(server) == ["json_schema", "json_schema"]
    assert model.capabilities.structured_mode("m") == "json_schema"


async def test_a_400_for_another_reason_is_not_fallen_back_from(dialect_model: Any) -> None:
    server, model = dialect_model(
        "openai", Script(turns=[Turn(json=GOOD, faults=Faults(http_status=400))])
    )
    with pytest.raises(LLMRequestRejected):
        await complete_json(model, "router", ASK, Route)
    assert formats(server) == ["json_schema"]
    assert model.capabilities.structured_mode("m") is None


async def test_an_answer_that_ignores_the_format_steps_down_and_is_repaired() -> None:
    llm = ScriptedLLM([Turn(text="Sure! I would route it the simple way."), Turn(json=GOOD)])
    assert await complete_json(llm, "router", ASK, Route) == Route(**GOOD)
    sent = [r.response_format and r.response_format["type"] for r in llm.requests]
    assert sent == ["json_schema", "json_object"]  # the repair, in the weaker mode
    assert llm.capabilities.structured_mode("scripted-router") == "json_object"

    await complete_json(ScriptedLLM([Turn(json=GOOD)]), "router", ASK, Route)
    llm.set_script([Turn(json=GOOD)])
    await complete_json(llm, "router", ASK, Route)
    assert llm.requests[-1].response_format == {"type": "json_object"}


async def test_broken_json_is_repaired_in_the_same_mode() -> None:
    llm = ScriptedLLM([Turn(json=GOOD, faults=Faults(malformed_json=True)), Turn(json=GOOD)])
    await complete_json(llm, "router", ASK, Route)
    assert [r.response_format == llm.requests[0].response_format for r in llm.requests] == [
        True,
        True,
    ]
    assert llm.capabilities.structured_mode("scripted-router") == "json_schema"


def test_strict_schema_requires_every_field_and_no_extras() -> None:
    strict, schema = strict_schema_of(Route)
    assert strict is True
    assert schema["required"] == ["deep_thinking", "reason"]
    assert schema["additionalProperties"] is False
