"""Registering an MCP server that runs a command needs SAGE_ALLOW_MCP_COMMANDS,
even for the local user; remote servers and mcp_setting.json do not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
from typer.testing import CliRunner

from app.cli.main import app as cli
from tests.app.conftest import StartServer
from tests.tools.mcp.conftest import live_children, stdio_entry, write_settings


def marker_entry(marker: Path) -> dict[str, object]:
    """A 'server' whose command leaves a file behind if it ever runs."""
    return {"command": "sh", "args": ["-c", f"touch {marker}"]}


async def test_local_mode_refuses_commands_unless_the_operator_allows_them(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(mcp_settings_path=tmp_path / "absent.json")
    marker = tmp_path / "ran"
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/api/v1/mcp/servers", json={"name": "pwn", **marker_entry(marker)}
        )
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["type"] == "mcp_commands_disabled"
        assert "SAGE_ALLOW_MCP_COMMANDS" in error["message"]
        assert (await http.get("/api/v1/mcp/servers/pwn")).status_code == 404
        # A remote server runs nothing here: it is registered (and fails to connect).
        remote = await http.post(
            "/api/v1/mcp/servers", json={"name": "remote", "url": "http://127.0.0.1:9/mcp"}
        )
        assert remote.status_code == 201, remote.text
        assert remote.json()["status"] == "error"
    await asyncio.sleep(0.5)
    assert not marker.exists()


async def test_the_cli_says_which_setting_to_set(start_server: StartServer, tmp_path: Path) -> None:
    refusing = start_server(mcp_settings_path=tmp_path / "absent.json")
    entry = stdio_entry()
    command = ["mcp", "add", "demo", "--url", refusing, "--", entry["command"], *entry["args"]]
    refused = await asyncio.to_thread(CliRunner().invoke, cli, command)
    assert refused.exit_code != 0
    assert "SAGE_ALLOW_MCP_COMMANDS" in refused.output

    allowing = start_server(mcp_settings_path=tmp_path / "absent.json", allow_mcp_commands=True)
    command[4] = allowing
    added = await asyncio.to_thread(CliRunner().invoke, cli, command)
    assert added.exit_code == 0, added.output
    async with httpx2.AsyncClient(base_url=allowing, timeout=30) as http:
        server = (await http.get("/api/v1/mcp/servers/demo")).json()
        assert server["status"] == "connected" and "add" in server["tools"]


async def test_the_operators_settings_file_still_starts_its_commands(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = write_settings(tmp_path / "mcp_setting.json", {"demo": stdio_entry()})
    before = live_children()
    url = start_server(mcp_settings_path=path, mcp_startup_wait_s=30.0)
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        server = (await http.get("/api/v1/mcp/servers/demo")).json()
        assert server["status"] == "connected" and server["origin"] == "file"
        assert live_children() - before
        # Refreshing the operator's server restarts the command it already runs.
        refreshed = await http.post("/api/v1/mcp/servers/demo/refresh")
        assert refreshed.status_code == 200 and refreshed.json()["status"] == "connected"
