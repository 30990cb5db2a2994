"""Servers that are broken, slow to start, or misconfigured."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from sagents.runtime import Runtime
from sagents.testing import ScriptedLLM
from sagents.tools.mcp import Backoff, McpProxy, McpServerEntry, McpStatus, McpUnavailable
from tests.conftest import make_settings
from tests.tools.mcp.conftest import live_children, stdio_entry, write_settings


async def test_one_broken_entry_does_not_stop_the_others(tmp_path: Path) -> None:
    servers = {
        "good": stdio_entry(),
        "no-kind": {"args": ["x"]},
        "bad-url": {"url": "ftp://example.org"},
        "missing": {"command": str(tmp_path / "no-such-server")},
        "off": {**stdio_entry(), "disabled": True},
    }
    path = write_settings(tmp_path / "mcp_setting.json", servers)
    settings = make_settings(tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0)
    rt = await Runtime.create(settings, llm=ScriptedLLM([]))
    try:
        assert rt.mcp is not None
        by_name = {i.name: i for i in rt.mcp.list()}
        assert by_name["good"].status is McpStatus.CONNECTED and "add" in rt.tools
        assert by_name["no-kind"].status is McpStatus.ERROR
        assert "command" in (by_name["no-kind"].last_error or "")
        assert "http:// or https://" in (by_name["bad-url"].last_error or "")
        missing = by_name["missing"]
        assert missing.status is McpStatus.ERROR
        assert "failed to connect" in (missing.last_error or "")
        assert "no-such-server" in (missing.last_error or "")
        assert by_name["off"].status is McpStatus.DISABLED and by_name["off"].tools == []
    finally:
        await rt.aclose()


async def test_a_file_that_is_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "mcp_setting.json"
    path.write_text("{nope")
    settings = make_settings(tmp_path / "data", mcp_settings_path=path)
    rt = await Runtime.create(settings, llm=ScriptedLLM([]))
    try:
        assert rt.mcp is not None and rt.mcp.list() == []
        assert "not valid JSON" in (rt.mcp.config_error or "")
    finally:
        await rt.aclose()


async def test_failed_connects_back_off_and_refresh_retries_at_once(tmp_path: Path) -> None:
    crash = McpServerEntry(
        command=sys.executable, args=["-c", "import sys; print('boom', file=sys.stderr)"]
    )
    proxy = McpProxy(
        "crash",
        crash,
        connect_timeout_s=20,
        call_timeout_s=5,
        log_dir=tmp_path,
        backoff=Backoff(base_s=60, max_s=60),
    )
    with pytest.raises(McpUnavailable, match=r"failed to connect.*boom"):
        await proxy.connect()
    assert proxy.status is McpStatus.ERROR
    # Within the back-off window a call fails at once, saying when it retries.
    started = time.perf_counter()
    with pytest.raises(McpUnavailable, match="next connection attempt in"):
        await proxy.call_tool("add", {})
    assert time.perf_counter() - started < 0.5
    # An explicit refresh ignores the back-off and tries again.
    with pytest.raises(McpUnavailable, match="failed to connect"):
        await proxy.refresh()
    await proxy.aclose()


async def test_connect_timeout_kills_a_server_that_never_answers(tmp_path: Path) -> None:
    sleeper = "import time; time.sleep(60)"
    before = live_children(sleeper)
    mute = McpServerEntry(command=sys.executable, args=["-c", sleeper])
    proxy = McpProxy("mute", mute, connect_timeout_s=1.0, call_timeout_s=5)
    with pytest.raises(McpUnavailable, match="did not connect within 1 s"):
        await proxy.connect()
    await proxy.aclose()
    assert live_children(sleeper) - before == set()
