"""A client converts each tool to its strict form once, not on every call."""

from __future__ import annotations

from typing import Any

from sagents.llm.strict import StrictTools, strict_tool


def tool(name: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


def test_the_same_tool_dict_is_converted_once() -> None:
    converted: list[str] = []

    def convert(t: dict[str, Any]) -> dict[str, Any] | None:
        converted.append(t["function"]["name"])
        return strict_tool(t)

    cache = StrictTools(convert=convert)
    tools = [tool("a"), tool("b")]
    first = cache.tools(tools)
    second = cache.tools(list(tools))  # a new list of the same dicts, as ToolManager hands out
    assert converted == ["a", "b"]
    assert first[0] is second[0] and first[0]["function"]["strict"] is True
    assert "strict" not in tools[0]["function"]  # the caller's dicts are untouched
    cache.tools([tool("a")])  # an equal but new dict is converted anew
    assert converted == ["a", "b", "a"]


def test_the_cache_is_bounded_and_forgets_the_oldest() -> None:
    cache = StrictTools(size=2)
    tools = [tool(str(i)) for i in range(3)]
    kept = [cache.strict(t) for t in tools]
    assert cache.strict(tools[2]) is kept[2] and cache.strict(tools[1]) is kept[1]
    assert cache.strict(tools[0]) is not kept[0]  # forgotten, converted again
    assert cache.strict(tools[0]) == kept[0]
