"""The manager's default cap on result text, and a spec's own cap beating it."""

from __future__ import annotations

from sagents.tools import ToolManager, tool


def long_answer() -> str:
    """A long answer."""
    return "y" * 50


async def test_the_managers_cap_applies_when_the_spec_sets_none() -> None:
    manager = ToolManager(max_result_chars=10)
    manager.add(tool(long_answer))
    outcome = await manager.proxy().call("long_answer", {}, timeout_s=5)
    assert outcome.content == "y" * 10 + "\n[truncated: 10 of 50 characters shown]"


async def test_a_specs_own_cap_wins() -> None:
    manager = ToolManager(max_result_chars=10)
    manager.add(tool(max_result_chars=20)(long_answer))
    outcome = await manager.proxy().call("long_answer", {}, timeout_s=5)
    assert outcome.content == "y" * 20 + "\n[truncated: 20 of 50 characters shown]"


async def test_no_cap_by_default() -> None:
    manager = ToolManager()
    manager.add(tool(long_answer))
    assert (await manager.proxy().call("long_answer", {}, timeout_s=5)).content == "y" * 50
