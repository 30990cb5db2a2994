"""Schema derivation and invocation of ``@tool`` functions."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from sagents.tools import ToolSource, ToolSpec, tool


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    """A point on the plane."""

    x: int
    y: int = 0


def props(spec: ToolSpec) -> dict[str, Any]:
    properties: dict[str, Any] = spec.parameters["properties"]
    return properties


# --- docstrings ---------------------------------------------------------------


def test_google_docstring_gives_descriptions_without_sections() -> None:
    @tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the web.

        Returns the best matching pages first.

        Args:
            query: What to look for.
            limit: How many results at most.

        Returns:
            Page titles.

        Raises:
            ValueError: never.
        """
        return []

    assert search.name == "search"
    assert search.description == "Search the web.\n\nReturns the best matching pages first."
    assert props(search)["query"] == {"type": "string", "description": "What to look for."}
    assert props(search)["limit"] == {
        "type": "integer",
        "default": 10,
        "description": "How many results at most.",
    }
    assert search.parameters["required"] == ["query"]


def test_numpy_docstring() -> None:
    @tool
    def scale(value: float, factor: float = 2.0) -> float:
        """Scale a value.

        Parameters
        ----------
        value : float
            The number to scale.
        factor : float, optional
            The multiplier.
        """
        return value * factor

    assert scale.description == "Scale a value."
    assert props(scale)["value"]["description"] == "The number to scale."
    assert props(scale)["factor"]["description"] == "The multiplier."
    assert props(scale)["factor"]["default"] == 2.0


def test_rest_docstring() -> None:
    @tool
    def greet(person: str) -> str:
        """Say hello.

        :param person: Who to greet.
        :returns: The greeting.
        """
        return f"hello {person}"

    assert greet.description == "Say hello."
    assert props(greet)["person"] == {"type": "string", "description": "Who to greet."}


def test_no_docstring_gives_empty_descriptions() -> None:
    @tool
    def bare(x: int) -> int:
        return x

    assert bare.description == ""
    assert props(bare)["x"] == {"type": "integer"}


def test_annotated_descriptions_beat_the_docstring() -> None:
    @tool
    def pick(
        count: Annotated[int, Field(description="From Field.", ge=1, le=5)],
        label: Annotated[str, "From a bare string."],
        note: str,
    ) -> str:
        """Pick things.

        Args:
            count: From the docstring (loses).
            label: From the docstring (loses).
            note: From the docstring.
        """
        return ""

    assert props(pick)["count"] == {
        "type": "integer",
        "description": "From Field.",
        "minimum": 1,
        "maximum": 5,
    }
    assert props(pick)["label"]["description"] == "From a bare string."
    assert props(pick)["note"]["description"] == "From the docstring."


def test_explicit_options_override_name_and_description() -> None:
    @tool(name="renamed", description="Custom text.", timeout_s=3.5, max_result_chars=100)
    def original(x: int) -> int:
        """Docstring text."""
        return x

    assert isinstance(original, ToolSpec)
    assert original.name == "renamed"
    assert original.description == "Custom text."
    assert original.timeout_s == 3.5
    assert original.max_result_chars == 100
    assert original.source is ToolSource.LOCAL


# --- type shapes --------------------------------------------------------------


def test_required_optional_and_nullable() -> None:
    @tool
    def shapes(a: int, b: int | None, c: str = "x", d: int | None = None) -> None:
        return None

    params = shapes.parameters
    # b has no default, so it is required even though null is allowed.
    assert params["required"] == ["a", "b"]
    assert props(shapes)["b"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props(shapes)["c"] == {"type": "string", "default": "x"}
    assert props(shapes)["d"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}


def test_literal_enum_list_dict() -> None:
    @tool
    def shapes(
        mode: Literal["fast", "slow"],
        color: Color = Color.BLUE,
        tags: list[str] | None = None,
        weights: dict[str, float] | None = None,
        matrix: list[list[int]] | None = None,
    ) -> None:
        return None

    assert props(shapes)["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert props(shapes)["color"] == {"$ref": "#/$defs/Color", "default": "blue"}
    assert shapes.parameters["$defs"]["Color"]["enum"] == ["red", "blue"]
    assert props(shapes)["tags"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert props(shapes)["weights"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert props(shapes)["matrix"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "integer"}},
    }
    assert shapes.parameters["required"] == ["mode"]


def test_nested_model_uses_defs() -> None:
    @tool
    def move(to: Point) -> str:
        """Move.

        Args:
            to: Where to go.
        """
        return ""

    assert props(move)["to"] == {"$ref": "#/$defs/Point", "description": "Where to go."}
    point = move.parameters["$defs"]["Point"]
    assert point["required"] == ["x"]
    assert point["description"] == "A point on the plane."
    assert point["properties"]["y"] == {"type": "integer", "default": 0}


def test_schema_is_a_closed_object_without_property_titles() -> None:
    @tool
    def f(first_name: str) -> str:
        return first_name

    assert f.parameters["type"] == "object"
    assert f.parameters["additionalProperties"] is False
    assert "title" not in f.parameters
    assert "title" not in props(f)["first_name"]


def test_no_parameters() -> None:
    @tool
    def now() -> str:
        return "noon"

    assert now.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_names_that_clash_with_pydantic_still_work() -> None:
    @tool
    def odd(json: str, schema: int, _private: bool = False) -> str:
        return f"{json}-{schema}-{_private}"

    assert list(props(odd)) == ["json", "schema", "_private"]


async def test_string_annotations_are_resolved() -> None:
    def add(a: "int", b: "int" = 1) -> "int":  # noqa: UP037 (the point of the test)
        return a + b

    spec = tool(add)
    assert props(spec)["a"] == {"type": "integer"}
    assert await spec.invoke({"a": 2}) == 3


def test_openai_tool_shape_is_cached() -> None:
    @tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    entry = ping.openai_tool()
    assert entry == {
        "type": "function",
        "function": {"name": "ping", "description": "Ping a host.", "parameters": ping.parameters},
    }
    assert ping.openai_tool() is entry


# --- rejections ---------------------------------------------------------------


def test_rejects_var_positional() -> None:
    def f(*items: int) -> None: ...

    with pytest.raises(TypeError, match=r"\*items is not supported"):
        tool(f)


def test_rejects_var_keyword() -> None:
    def f(**options: int) -> None: ...

    with pytest.raises(TypeError, match=r"\*\*options is not supported"):
        tool(f)


def test_rejects_untyped_parameter() -> None:
    def f(a: int, b) -> None:  # type: ignore[no-untyped-def]
        ...

    with pytest.raises(TypeError, match="parameter 'b' needs a type annotation"):
        tool(f)


def test_rejects_generators() -> None:
    async def stream(n: int) -> Any:
        yield n

    with pytest.raises(TypeError, match="generator functions are not supported"):
        tool(stream)


class Opaque:
    """Not something pydantic can validate or describe."""


def test_rejects_unsupported_types() -> None:
    def f(thing: Opaque) -> None: ...

    with pytest.raises(TypeError, match="tool 'f': unsupported parameter type"):
        tool(f)


def test_rejects_unresolvable_annotations() -> None:
    def f(thing: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match="tool 'f': cannot resolve its signature"):
        tool(f)


def test_rejects_names_openai_would_refuse() -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        tool(lambda: None)
    with pytest.raises(ValueError, match="invalid tool name 'has space'"):
        tool(name="has space")(lambda: None)
