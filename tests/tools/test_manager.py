"""Registration, precedence and shadowing in ToolManager; ToolSpec's own checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sagents.tools import ToolManager, ToolSource, ToolSpec, tool


def make_spec(name: str, source: ToolSource, reply: str = "") -> ToolSpec:
    """A hand-built spec, the way an MCP source will produce them."""

    async def invoke(arguments: dict[str, Any]) -> str:
        return reply or f"{source.value}:{name}"

    return ToolSpec(
        name=name,
        description=f"{name} from {source.value}",
        parameters={"type": "object", "properties": {}},
        source=source,
        invoke=invoke,
    )


def test_precedence_order() -> None:
    assert ToolSource.MCP.precedence > ToolSource.AGENT.precedence
    assert ToolSource.AGENT.precedence > ToolSource.BUILTIN_MCP.precedence
    assert ToolSource.BUILTIN_MCP.precedence > ToolSource.LOCAL.precedence
    assert ToolSource.LOCAL.precedence > ToolSource.BUILTIN.precedence
    assert ToolSource("builtin_mcp") is ToolSource.BUILTIN_MCP


def test_add_function_wraps_it_with_tool() -> None:
    manager = ToolManager()

    def echo(text: str) -> str:
        """Echo text back."""
        return text

    spec = manager.add(echo)
    assert isinstance(spec, ToolSpec)
    assert spec.source is ToolSource.LOCAL
    assert spec.description == "Echo text back."
    assert manager.get("echo") is spec
    assert "echo" in manager
    assert len(manager) == 1


def test_get_unknown_is_none() -> None:
    assert ToolManager().get("nope") is None


def test_list_is_sorted_by_name() -> None:
    manager = ToolManager()
    for name in ["zeta", "alpha", "mid"]:
        manager.add(make_spec(name, ToolSource.LOCAL))
    assert [spec.name for spec in manager.list()] == ["alpha", "mid", "zeta"]


def test_clash_resolved_by_precedence_whatever_the_order() -> None:
    manager = ToolManager()
    builtin = manager.add(make_spec("search", ToolSource.BUILTIN_MCP))
    mcp = manager.add(make_spec("search", ToolSource.MCP))
    local = manager.add(make_spec("search", ToolSource.LOCAL))

    assert manager.get("search") is mcp
    assert manager.list() == [mcp]
    assert manager.shadowed("search") == [builtin, local]
    assert len(manager) == 1


def test_removing_the_winner_reveals_the_next() -> None:
    manager = ToolManager()
    local = manager.add(make_spec("search", ToolSource.LOCAL))
    mcp = manager.add(make_spec("search", ToolSource.MCP))

    assert manager.remove("search", ToolSource.MCP) is mcp
    assert manager.get("search") is local
    assert manager.shadowed("search") == []
    assert manager.remove("search", ToolSource.LOCAL) is local
    assert manager.get("search") is None
    assert "search" not in manager
    assert manager.list() == []


def test_remove_missing_is_a_no_op() -> None:
    manager = ToolManager()
    manager.add(make_spec("search", ToolSource.LOCAL))
    version = manager.version
    assert manager.remove("search", ToolSource.MCP) is None
    assert manager.remove("other", ToolSource.LOCAL) is None
    assert manager.version == version
    assert manager.get("search") is not None


def test_shadowed_of_unknown_name_is_empty() -> None:
    assert ToolManager().shadowed("nope") == []


def test_source_override_rewrites_the_spec() -> None:
    manager = ToolManager()
    original = make_spec("fetch", ToolSource.MCP)
    registered = manager.add(original, source=ToolSource.BUILTIN_MCP)

    assert registered.source is ToolSource.BUILTIN_MCP
    assert original.source is ToolSource.MCP
    assert registered.openai_tool() == original.openai_tool()
    assert manager.get("fetch") is registered


def test_duplicate_name_and_source_is_refused_unless_replacing() -> None:
    manager = ToolManager()
    first = manager.add(make_spec("search", ToolSource.LOCAL, reply="first"))
    with pytest.raises(ValueError, match="a local tool named 'search' is already registered"):
        manager.add(make_spec("search", ToolSource.LOCAL, reply="second"))
    assert manager.get("search") is first

    second = manager.add(make_spec("search", ToolSource.LOCAL, reply="second"), replace=True)
    assert manager.get("search") is second
    assert manager.shadowed("search") == []


def test_unknown_keeps_order_and_drops_repeats() -> None:
    manager = ToolManager()
    manager.add(make_spec("known", ToolSource.LOCAL))
    assert manager.unknown(["b", "known", "a", "b"]) == ["b", "a"]
    assert manager.unknown(["known"]) == []
    assert manager.unknown([]) == []


def test_version_changes_on_every_mutation() -> None:
    manager = ToolManager()
    v0 = manager.version
    manager.add(make_spec("a", ToolSource.LOCAL))
    v1 = manager.version
    manager.remove("a", ToolSource.LOCAL)
    assert v0 < v1 < manager.version


def test_proxy_is_bound_to_this_manager() -> None:
    manager = ToolManager()
    manager.add(make_spec("a", ToolSource.LOCAL))
    manager.add(make_spec("b", ToolSource.LOCAL))
    assert manager.proxy(["b"]).names == ["b"]
    assert manager.proxy(None).names == ["a", "b"]


# --- ToolSpec's own checks ----------------------------------------------------


def test_spec_rejects_a_non_object_schema() -> None:
    spec = make_spec("ok", ToolSource.LOCAL)
    with pytest.raises(ValueError, match="must be a JSON object schema"):
        dataclasses.replace(spec, parameters={"type": "string"})


@pytest.mark.parametrize("name", ["", "a.b", "with space", "x" * 65])
def test_spec_rejects_names_openai_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        dataclasses.replace(make_spec("ok", ToolSource.LOCAL), name=name)


@pytest.mark.parametrize(("field", "value"), [("timeout_s", 0.0), ("max_result_chars", 0)])
def test_spec_rejects_non_positive_limits(field: str, value: float) -> None:
    changes: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=f"{field} must be positive"):
        dataclasses.replace(make_spec("ok", ToolSource.LOCAL), **changes)


def test_replace_rebuilds_the_cached_openai_entry() -> None:
    spec = make_spec("old", ToolSource.LOCAL)
    renamed = dataclasses.replace(spec, name="new")
    assert renamed.openai_tool()["function"]["name"] == "new"
    assert spec.openai_tool()["function"]["name"] == "old"


def test_decorated_and_hand_built_specs_mix() -> None:
    @tool
    def local_search(query: str) -> str:
        return query

    manager = ToolManager()
    manager.add(local_search)
    manager.add(make_spec("remote_search", ToolSource.MCP))
    assert [s.source for s in manager.list()] == [ToolSource.LOCAL, ToolSource.MCP]
