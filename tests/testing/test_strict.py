"""Strict mode: the mock server and the scripted LLM reject a history whose
tool calls and results do not pair up, with OpenAI's 400."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from sagents.llm.errors import LLMRequestRejected
from sagents.llm.types import LLMRequest
from sagents.testing import MockLLMServer, Script, ScriptedLLM, Turn
from sagents.testing.strict import tool_pairing_violation


def call(call_id: str, name: str = "lookup") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "content": "ok", "tool_call_id": call_id, "name": "lookup"}


USER = {"role": "user", "content": "hi"}


def calling(*ids: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}


WELL_FORMED = [
    USER,
    calling("a", "b"),
    result("b"),
    result("a"),  # any order within the block
    {"role": "assistant", "content": "done"},
    USER,
]


def test_a_well_formed_history_passes() -> None:
    assert tool_pairing_violation(WELL_FORMED) is None
    assert tool_pairing_violation([USER]) is None


@pytest.mark.parametrize(
    ("messages", "param", "words"),
    [
        # A call without its result, before the next user message.
        ([USER, calling("a", "b"), result("a"), USER], "messages.[1].role", "did not have"),
        # ... or at the end of the request.
        ([USER, calling("a")], "messages.[1].role", "did not have"),
        # The result stored after a later message: not "right after" its call.
        ([USER, calling("a"), USER, result("a")], "messages.[1].role", "did not have"),
        # A result for no call at all.
        ([USER, result("z")], "messages.[1].role", "preceeding"),
        # A result for a call of another assistant message.
        (
            [USER, calling("a"), result("a"), USER, calling("b"), result("a")],
            "messages.[5].role",
            "preceeding",
        ),
    ],
)
def test_malformed_histories_are_named(
    messages: list[dict[str, Any]], param: str, words: str
) -> None:
    violation = tool_pairing_violation(messages)
    assert violation is not None
    assert violation.param == param and words in violation.message


def test_missing_ids_are_listed() -> None:
    violation = tool_pairing_violation(
        [USER, calling("call_1", "call_2", "call_3"), result("call_2")]
    )
    assert violation is not None
    assert violation.message.endswith("response messages: call_1, call_3")


def test_the_mock_server_answers_400_in_openai_shape() -> None:
    with MockLLMServer(Script(turns=[Turn(text="fine")])) as server:
        bad = {"model": "m", "messages": [USER, calling("a"), USER]}
        response = httpx2.post(f"{server.base_url}/chat/completions", json=bad)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] is None
        assert error["param"] == "messages.[1].role"
        assert "tool_call_ids did not have response messages: a" in error["message"]
        assert server.state.remaining == 1  # the rejected request took no turn
        good = {"model": "m", "messages": WELL_FORMED}
        assert httpx2.post(f"{server.base_url}/chat/completions", json=good).status_code == 200
        assert len(server.requests) == 2  # both recorded


async def test_the_openai_sdk_sees_a_bad_request() -> None:
    with MockLLMServer(Script(turns=[Turn(text="fine")])) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        try:
            with pytest.raises(openai.BadRequestError) as caught:
                await client.chat.completions.create(
                    model="m",
                    messages=[USER, result("z")],  # type: ignore[list-item]
                )
        finally:
            await client.close()
    assert "must be a response to a preceeding message" in str(caught.value)


def test_strict_false_accepts_what_openai_would_reject() -> None:
    with MockLLMServer(Script(turns=[Turn(text="fine")]), strict=False) as server:
        bad = {"model": "m", "messages": [USER, calling("a"), USER]}
        assert httpx2.post(f"{server.base_url}/chat/completions", json=bad).status_code == 200


async def test_the_scripted_llm_rejects_like_the_server() -> None:
    llm = ScriptedLLM([Turn(text="fine")])
    with pytest.raises(LLMRequestRejected) as caught:
        async for _ in llm.stream(LLMRequest(role="simple", messages=[USER, calling("a")])):
            pass
    assert caught.value.status_code == 400 and "did not have response messages: a" in str(
        caught.value
    )
    assert llm.remaining == 1
    lenient = ScriptedLLM([Turn(text="fine")], strict=False)
    chunks = [
        c async for c in lenient.stream(LLMRequest(role="simple", messages=[USER, calling("a")]))
    ]
    assert chunks
