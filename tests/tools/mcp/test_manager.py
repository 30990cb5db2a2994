"""McpManager: registrations persist, file servers stay read-only, name clashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagents.runtime import Runtime
from sagents.testing import ScriptedLLM
from sagents.tools.mcp import McpServerConflict, McpServerEntry, McpStatus, ServerOrigin
from tests.conftest import make_settings
from tests.tools.mcp.conftest import stdio_entry, write_settings


async def test_registrations_and_overrides_persist_across_restarts(tmp_path: Path) -> None:
    path = write_settings(tmp_path / "mcp_setting.json", {"filed": stdio_entry()})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    first = await Runtime.create(settings, llm=ScriptedLLM([]))
    assert first.mcp is not None
    entry = McpServerEntry.model_validate({**stdio_entry(), "env": {"TOKEN": "s3cret"}})
    info = await first.mcp.register("added", entry)
    assert info.status is McpStatus.CONNECTED and info.origin is ServerOrigin.API
    await first.mcp.set_disabled("filed", True)
    with pytest.raises(McpServerConflict, match=r"mcp_setting\.json"):
        await first.mcp.remove("filed")
    await first.aclose()

    stored = json.loads((tmp_path / "data" / "mcp_servers.json").read_text())
    assert stored["mcpServers"]["added"]["env"] == {"TOKEN": "s3cret"}
    assert stored["disabled_overrides"] == {"filed": True}
    assert json.loads(path.read_text()) == {"mcpServers": {"filed": stdio_entry()}}

    second = await Runtime.create(settings, llm=ScriptedLLM([]))
    try:
        assert second.mcp is not None
        by_name = {i.name: i for i in second.mcp.list()}
        assert by_name["added"].status is McpStatus.CONNECTED
        assert by_name["filed"].status is McpStatus.DISABLED
    finally:
        await second.aclose()


async def test_two_servers_with_the_same_tool_names(tmp_path: Path) -> None:
    path = write_settings(tmp_path / "mcp_setting.json", {"a": stdio_entry(), "b": stdio_entry()})
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    rt = await Runtime.create(settings, llm=ScriptedLLM([]))
    try:
        assert rt.mcp is not None
        a, b = rt.mcp.info("a"), rt.mcp.info("b")
        # Whichever connected first owns the names; the other reports the skips.
        owner, other = (a, b) if a.tools else (b, a)
        assert "add" in owner.tools and other.tools == []
        assert any(
            f"MCP server {owner.name!r} already offers 'add'" in s for s in other.skipped_tools
        )
        spec = rt.tools.get("add")
        assert spec is not None and spec.origin == owner.name

        # Removing the owner lets the other claim the names.
        await rt.mcp.set_disabled(owner.name, True)
        spec = rt.tools.get("add")
        assert spec is not None and spec.origin == other.name
    finally:
        await rt.aclose()
