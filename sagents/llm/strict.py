"""Strict tool schemas: ``strict: true`` on each tool whose schema allows it.

OpenAI's strict mode (constrained decoding: the arguments always match the
schema) requires every object to list all its properties as required and to
refuse extra ones. A tool with optional arguments stays non-strict (making
them required would change what the model must send); for the others only
``additionalProperties: false`` is added.

Every LLM call of a run sends the same tools, and converting them walked
every schema on every call (``_strict_schema`` ran three times per tool and
call). ``StrictTools`` keeps each tool's strict form by the identity of the
tool's dict: ``ToolManager`` hands out one cached dict per tool and asks
callers not to mutate it, so the same dict always converts the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ToolDict = dict[str, Any]

CACHE_SIZE = 512
"""Tools remembered per client; far above a process's tool count, so it only
bounds callers that build new tool dicts for every call."""


def strict_tool(tool: ToolDict) -> ToolDict | None:
    """The strict form of one tool, or ``None`` when it stays as it is (its
    schema allows extra or optional properties, or it says ``strict`` itself)."""
    fn = tool.get("function")
    if not isinstance(fn, dict) or fn.get("strict") is not None:
        return None
    parameters = fn.get("parameters") or {"type": "object", "properties": {}}
    strict = _strict_schema(parameters, root=True)
    if strict is None:
        return None
    return {**tool, "function": {**fn, "parameters": strict, "strict": True}}


class StrictTools:
    """The strict forms of the tools one client sends, by the tool dict's
    identity (each entry holds its dict, so the identity cannot be reused
    while it is remembered)."""

    __slots__ = ("_convert", "_entries", "_size")

    def __init__(
        self,
        size: int = CACHE_SIZE,
        convert: Callable[[ToolDict], ToolDict | None] = strict_tool,
    ) -> None:
        self._size = size
        self._convert = convert
        self._entries: dict[int, tuple[ToolDict, ToolDict | None]] = {}

    def tools(self, tools: list[ToolDict]) -> list[ToolDict]:
        """``tools`` with each convertible tool in its strict form; ``tools``
        itself when none converts (the caller's list is never changed)."""
        out: list[ToolDict] | None = None
        for index, tool in enumerate(tools):
            strict = self.strict(tool)
            if strict is None:
                continue
            if out is None:
                out = list(tools)
            out[index] = strict
        return tools if out is None else out

    def strict(self, tool: ToolDict) -> ToolDict | None:
        entry = self._entries.get(id(tool))
        if entry is not None and entry[0] is tool:
            return entry[1]
        strict = self._convert(tool)
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[id(tool)] = (tool, strict)
        return strict


def strict_tools(tools: list[ToolDict]) -> list[ToolDict]:
    """``tools`` with ``strict: true`` on each tool whose schema allows it
    (converted now, remembered nowhere); ``tools`` itself when none does."""
    return StrictTools(size=len(tools) + 1).tools(tools)


def _strict_schema(schema: Any, *, root: bool = False) -> Any:
    """A copy with ``additionalProperties: false`` on every object, or ``None``
    when some object has optional or open-ended properties (a nested object
    without ``properties`` is a free-form one; only the root may be empty,
    a tool without arguments)."""
    if isinstance(schema, list):
        items = [_strict_schema(item) for item in schema]
        return None if any(item is None for item in items) else items
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions"):
            if not isinstance(value, dict):
                return None
            converted = {name: _strict_schema(sub) for name, sub in value.items()}
            if any(sub is None for sub in converted.values()):
                return None
            out[key] = converted
        elif key in ("items", "anyOf", "allOf", "oneOf", "not"):
            converted_value = _strict_schema(value)
            if converted_value is None:
                return None
            out[key] = converted_value
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        if "properties" not in out and not root:
            return None
        properties = out.get("properties", {})
        if out.get("additionalProperties") not in (None, False):
            return None
        if set(out.get("required", [])) != set(properties):
            return None
        out["additionalProperties"] = False
    return out
