"""Calling ``@tool`` specs: threads, argument validation and coercion."""

from __future__ import annotations

import asyncio
import threading
from enum import Enum
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from sagents.tools import ToolArgumentError, tool


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: int
    y: int = 0


# --- invocation ---------------------------------------------------------------


async def test_sync_tool_runs_in_a_worker_thread() -> None:
    seen: list[int] = []

    @tool
    def where() -> str:
        seen.append(threading.get_ident())
        return "ok"

    assert await where.invoke({}) == "ok"
    assert seen and seen[0] != threading.get_ident()


async def test_async_tool_runs_on_the_loop() -> None:
    seen: list[int] = []

    @tool
    async def where() -> str:
        seen.append(threading.get_ident())
        await asyncio.sleep(0)
        return "ok"

    assert await where.invoke({}) == "ok"
    assert seen == [threading.get_ident()]


async def test_async_callable_instance_is_awaited() -> None:
    class Counter:
        __name__ = "counter"

        async def __call__(self, step: int) -> int:
            return step + 1

    spec = tool(Counter())
    assert spec.parameters["properties"]["step"] == {"type": "integer"}
    assert await spec.invoke({"step": 1}) == 2


async def test_arguments_are_validated_and_coerced() -> None:
    received: dict[str, Any] = {}

    @tool
    def record(to: Point, color: Color, count: int, /, tags: list[str] | None = None) -> None:
        received.update(to=to, color=color, count=count, tags=tags)

    await record.invoke({"to": {"x": 1}, "color": "red", "count": "3"})
    # Models and enums reach the function as the types it declared.
    assert received == {"to": Point(x=1, y=0), "color": Color.RED, "count": 3, "tags": None}


async def test_names_that_clash_with_pydantic_are_passed_through() -> None:
    @tool
    def odd(json: str, schema: int, _private: bool = False) -> str:
        return f"{json}-{schema}-{_private}"

    assert await odd.invoke({"json": "j", "schema": 2, "_private": True}) == "j-2-True"


async def test_invalid_arguments_name_every_field() -> None:
    @tool
    def f(count: Annotated[int, Field(ge=1)], to: Point) -> None:
        return None

    with pytest.raises(ToolArgumentError) as caught:
        await f.invoke({"count": 0, "to": {"x": "left"}, "extra": 1})
    message = str(caught.value)
    assert message.startswith("invalid arguments for tool 'f': ")
    assert "count: Input should be greater than or equal to 1" in message
    assert "to.x: Input should be a valid integer" in message
    assert "extra: Extra inputs are not permitted" in message


async def test_missing_argument_is_named() -> None:
    @tool
    def f(query: str) -> str:
        return query

    with pytest.raises(ToolArgumentError, match="query: Field required"):
        await f.invoke({})


async def test_mutable_defaults_are_not_shared_between_calls() -> None:
    @tool
    def grow(items: list[int] = []) -> list[int]:  # noqa: B006 (the point of the test)
        items.append(1)
        return items

    assert await grow.invoke({}) == [1]
    assert await grow.invoke({}) == [1]
