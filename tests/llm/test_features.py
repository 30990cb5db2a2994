"""The optional request parameters: which tools can be strict, and reading
which parameter an error answer refuses."""

from __future__ import annotations

from typing import Any

from sagents.llm.capabilities import Capabilities
from sagents.llm.features import named_parameters, request_body
from sagents.llm.strict import strict_tools
from sagents.llm.types import LLMRequest


def tool(name: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": name}
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


ALL_REQUIRED = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "when": {
            "type": "object",
            "properties": {"day": {"type": "integer"}},
            "required": ["day"],
        },
    },
    "required": ["city", "when"],
}
OPTIONAL = {"type": "object", "properties": {"q": {"type": "string"}}, "required": []}
FREE_FORM = {"type": "object", "properties": {"meta": {"type": "object"}}, "required": ["meta"]}
OPEN = {**ALL_REQUIRED, "additionalProperties": True}


def test_only_tools_whose_every_property_is_required_become_strict() -> None:
    tools = [
        tool("a", ALL_REQUIRED),
        tool("b", OPTIONAL),
        tool("c", FREE_FORM),
        tool("d", OPEN),
        tool("e", None),
    ]
    out = strict_tools(tools)
    strict = {t["function"]["name"]: t["function"].get("strict") for t in out}
    assert strict == {"a": True, "b": None, "c": None, "d": None, "e": True}
    params = out[0]["function"]["parameters"]
    assert params["additionalProperties"] is False
    assert params["properties"]["when"]["additionalProperties"] is False
    assert tools[0]["function"]["parameters"] is ALL_REQUIRED  # the caller's list is untouched
    assert "additionalProperties" not in ALL_REQUIRED
    only_optional = [tool("b", OPTIONAL)]
    assert strict_tools(only_optional) is only_optional


def test_named_parameters_needs_an_unsupported_status_and_the_name() -> None:
    sent = ["stream_options", "parallel_tool_calls", "strict_tools", "tool_choice"]
    body = b'{"error":{"message":"Unsupported parameter","param":"stream_options"}}'
    assert named_parameters(400, body, sent) == ["stream_options"]
    assert named_parameters(404, body, sent) == []
    assert named_parameters(400, b'{"error":{"message":"context too long"}}', sent) == []
    vllm = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser'
    assert named_parameters(400, vllm, sent) == ["tool_choice"]
    assert named_parameters(500, "This response_format type is unavailable", ["response_format"])
    assert named_parameters(501, b"param tools[0].function.strict", sent) == ["strict_tools"]


def test_the_body_leaves_out_what_the_endpoint_refused() -> None:
    capabilities = Capabilities("http://x")
    request = LLMRequest(role="simple", messages=[], tools=[tool("a", ALL_REQUIRED)])
    body, sent = request_body(request, "m", capabilities)
    assert sent == ["stream_options", "strict_tools", "tool_choice", "parallel_tool_calls"]
    for feature in ("stream_options", "strict_tools", "tool_choice", "parallel_tool_calls"):
        capabilities.refuse("m", feature, "refused")  # type: ignore[arg-type]
    body, sent = request_body(request, "m", capabilities)
    assert sent == []
    assert b"stream_options" not in body and b"strict" not in body
    assert b"tool_choice" not in body and b"parallel_tool_calls" not in body
    assert request_body(request, "other", capabilities)[1] != []  # learned per model
    plain = LLMRequest(role="simple", messages=[])
    assert request_body(plain, "n", capabilities)[1] == ["stream_options"]
