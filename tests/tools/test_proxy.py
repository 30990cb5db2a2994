"""ToolProxy: allow-lists, and ``call`` turning every failure into an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from sagents.tools import ToolManager, ToolOutcome, ToolProxy, ToolSource, ToolSpec, tool


class Report(BaseModel):
    title: str
    score: float


@dataclass
class Pair:
    left: int
    right: int


class Opaque:
    def __str__(self) -> str:
        return "opaque-thing"


def build_manager() -> ToolManager:
    manager = ToolManager()

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tool
    def shout(text: str) -> str:
        return text.upper()

    @tool
    def nothing() -> None:
        return None

    manager.add(add)
    manager.add(shout)
    manager.add(nothing)
    return manager


async def call(
    spec: ToolSpec, arguments: str | dict[str, Any] = "{}", *, timeout_s: float = 5
) -> ToolOutcome:
    """Call one tool through a fresh manager and an unrestricted proxy."""
    manager = ToolManager()
    manager.add(spec)
    return await manager.proxy(None).call(spec.name, arguments, timeout_s=timeout_s)


# --- allow-list -----------------------------------------------------------------


def test_allow_list_limits_what_is_visible() -> None:
    manager = build_manager()
    proxy = manager.proxy(["shout", "add", "not_registered"])

    assert proxy.names == ["add", "shout"]
    assert proxy.has("add")
    assert not proxy.has("nothing")
    assert not proxy.has("not_registered")
    assert proxy.get("nothing") is None
    assert [t["function"]["name"] for t in proxy.openai_tools()] == ["add", "shout"]
    assert proxy.allowed == frozenset({"shout", "add", "not_registered"})


def test_none_allows_every_tool() -> None:
    proxy = build_manager().proxy(None)
    assert proxy.names == ["add", "nothing", "shout"]
    assert proxy.allowed is None


def test_empty_allow_list_allows_nothing() -> None:
    proxy = build_manager().proxy([])
    assert proxy.names == []
    assert proxy.openai_tools() == []


def test_a_lone_string_is_refused() -> None:
    with pytest.raises(TypeError, match="not a string"):
        ToolProxy(build_manager(), "add")


def test_openai_tools_reuse_the_specs_cached_dicts() -> None:
    manager = build_manager()
    proxy = manager.proxy(None)
    first = proxy.openai_tools()
    second = proxy.openai_tools()
    assert first == second
    assert first is not second  # the caller may extend its own list
    add_spec = manager.get("add")
    assert add_spec is not None
    assert first[0] is add_spec.openai_tool()


def test_view_is_live_over_the_manager() -> None:
    manager = build_manager()
    proxy = manager.proxy(["add", "later"])
    assert proxy.names == ["add"]

    @tool
    def later() -> str:
        return "here"

    manager.add(later)
    assert proxy.names == ["add", "later"]
    manager.remove("add", ToolSource.LOCAL)
    assert proxy.names == ["later"]
    assert [t["function"]["name"] for t in proxy.openai_tools()] == ["later"]


async def test_the_winning_source_is_called() -> None:
    manager = build_manager()

    async def remote(arguments: dict[str, Any]) -> str:
        return f"remote got {arguments}"

    manager.add(
        ToolSpec(
            name="shout",
            description="remote shout",
            parameters={"type": "object", "properties": {"text": {"type": "string"}}},
            source=ToolSource.MCP,
            invoke=remote,
        )
    )
    outcome = await manager.proxy(None).call("shout", '{"text": "hi"}', timeout_s=5)
    assert outcome.ok
    assert outcome.content == "remote got {'text': 'hi'}"


async def test_unknown_and_disallowed_tools_name_the_available_ones() -> None:
    proxy = build_manager().proxy(["add", "shout"])

    unknown = await proxy.call("missing", "{}", timeout_s=5)
    assert not unknown.ok
    assert unknown.content == "unknown tool 'missing'; available: add, shout"

    disallowed = await proxy.call("nothing", "{}", timeout_s=5)
    assert not disallowed.ok
    assert disallowed.content == "unknown tool 'nothing'; available: add, shout"


async def test_unknown_tool_with_nothing_available() -> None:
    outcome = await ToolManager().proxy(None).call("x", "{}", timeout_s=5)
    assert outcome.content == "unknown tool 'x'; available: (none)"


# --- results --------------------------------------------------------------------


async def test_json_string_and_dict_arguments() -> None:
    proxy = build_manager().proxy(None)
    from_json = await proxy.call("add", '{"a": 2, "b": 3}', timeout_s=5)
    from_dict = await proxy.call("add", {"a": 2, "b": 3}, timeout_s=5)
    assert from_json.ok and from_json.content == "5"
    assert from_dict.ok and from_dict.content == "5"
    assert from_json.duration_ms >= 0


async def test_empty_argument_string_means_no_arguments() -> None:
    outcome = await build_manager().proxy(None).call("nothing", "", timeout_s=5)
    assert outcome.ok
    assert outcome.content == "null"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        (None, "null"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        ({"b": [1, 2], "a": None}, '{"b":[1,2],"a":null}'),
        ([1, "two"], '[1,"two"]'),
        ("héllo ✓", "héllo ✓"),
        ({"name": "café"}, '{"name":"café"}'),
        (Report(title="t", score=0.5), '{"title":"t","score":0.5}'),
        (Pair(1, 2), '{"left":1,"right":2}'),
        ({"thing": Opaque()}, '{"thing":"opaque-thing"}'),
    ],
)
async def test_results_are_serialised_to_text(value: Any, expected: str) -> None:
    @tool
    def produce() -> Any:
        return value

    outcome = await call(produce)
    assert outcome.ok
    assert outcome.content == expected


async def test_long_results_are_truncated_with_a_note() -> None:
    @tool(max_result_chars=10)
    def chatty() -> str:
        return "x" * 25

    outcome = await call(chatty)
    assert outcome.ok
    assert outcome.content == "x" * 10 + "\n[truncated: 10 of 25 characters shown]"


async def test_results_at_the_limit_are_untouched() -> None:
    @tool(max_result_chars=10)
    def exact() -> str:
        return "y" * 10

    assert (await call(exact)).content == "y" * 10


# --- failures -------------------------------------------------------------------


async def test_invalid_json_is_reported() -> None:
    outcome = await build_manager().proxy(None).call("add", '{"a": 1,', timeout_s=5)
    assert not outcome.ok
    assert outcome.content.startswith("invalid JSON arguments for tool 'add': ")
    assert "line 1 column" in outcome.content


async def test_non_object_json_is_reported() -> None:
    outcome = await build_manager().proxy(None).call("add", "[1, 2]", timeout_s=5)
    assert not outcome.ok
    assert outcome.content == "arguments for tool 'add' must be a JSON object, got an array"


async def test_validation_errors_name_the_fields() -> None:
    outcome = await build_manager().proxy(None).call("add", '{"a": "one"}', timeout_s=5)
    assert not outcome.ok
    assert outcome.content == (
        "invalid arguments for tool 'add': "
        "a: Input should be a valid integer, unable to parse string as an integer; "
        "b: Field required"
    )


async def test_exceptions_become_failed_outcomes_without_traceback() -> None:
    @tool
    async def broken(x: int) -> int:
        raise ValueError(f"bad value {x}")

    outcome = await call(broken, '{"x": 7}')
    assert not outcome.ok
    assert outcome.content == "ValueError: bad value 7"
    assert "Traceback" not in outcome.content


async def test_sync_exceptions_too_and_empty_messages() -> None:
    @tool
    def broken() -> None:
        raise RuntimeError()

    outcome = await call(broken)
    assert not outcome.ok
    assert outcome.content == "RuntimeError"


async def test_failure_text_is_truncated_too() -> None:
    @tool(max_result_chars=20)
    def loud() -> None:
        raise ValueError("e" * 100)

    outcome = await call(loud)
    assert not outcome.ok
    assert outcome.content.startswith("ValueError: eeeeeeee")
    assert outcome.content.endswith("[truncated: 20 of 112 characters shown]")


async def test_a_tools_own_timeout_error_is_not_our_timeout() -> None:
    @tool
    async def flaky() -> None:
        raise TimeoutError("upstream did not answer")

    outcome = await call(flaky, timeout_s=5)
    assert not outcome.ok
    assert outcome.content == "TimeoutError: upstream did not answer"
