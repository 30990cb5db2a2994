"""MCP servers over the real HTTP API (uvicorn on loopback, mock LLM, real MCP servers)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx2
from typer.testing import CliRunner

from app.cli.main import app as cli
from sagents.events import RunFinished, ToolProgress, ToolResult
from sagents.testing import ScriptedToolCall, Turn
from tests.app.conftest import StartServer, chat
from tests.tools.mcp.conftest import stdio_entry, write_settings

ADD = Turn(role="simple", tool_calls=[ScriptedToolCall(name="add", arguments={"a": 2, "b": 3})])
SIMPLE = {"deep_thinking": False, "multi_agent": False}


def names(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in tools}


async def test_register_use_disable_refresh_and_remove(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(
        [ADD, Turn(role="simple", text="2 + 3 = 5")],
        mcp_settings_path=tmp_path / "absent.json",
        allow_mcp_commands=True,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        created = await http.post("/api/v1/mcp/servers", json={"name": "demo", **stdio_entry()})
        assert created.status_code == 201, created.text
        server = created.json()
        assert server["status"] == "connected" and server["origin"] == "api"
        assert {"add", "echo", "slow"} <= set(server["tools"])
        assert server["tool_count"] == len(server["tools"])

        tools = names((await http.get("/api/v1/tools")).json())
        assert tools["add"]["source"] == "mcp" and tools["add"]["server"] == "demo"
        assert tools["add"]["parameters"]["required"] == ["a", "b"]

        events = await chat(http, message="2 + 3?", **SIMPLE)
        [result] = [e for e in events if isinstance(e, ToolResult)]
        assert result.ok and result.content == "5"
        assert isinstance(events[-1], RunFinished) and events[-1].answer == "2 + 3 = 5"

        off = await http.patch("/api/v1/mcp/servers/demo", json={"disabled": True})
        assert off.status_code == 200 and off.json()["status"] == "disabled"
        assert "add" not in names((await http.get("/api/v1/tools")).json())
        on = await http.patch("/api/v1/mcp/servers/demo", json={"disabled": False})
        assert on.json()["status"] == "connected" and "add" in on.json()["tools"]

        refreshed = await http.post("/api/v1/mcp/servers/demo/refresh")
        assert refreshed.status_code == 200 and refreshed.json()["status"] == "connected"

        again = await http.post("/api/v1/mcp/servers", json={"name": "demo", **stdio_entry()})
        assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]

        # The CLI reads the same API.
        # (in a thread: the CLI runs its own event loop)
        listed = await asyncio.to_thread(CliRunner().invoke, cli, ["mcp", "list", "--url", url])
        assert listed.exit_code == 0 and "demo" in listed.output and "connected" in listed.output
        tools_out = await asyncio.to_thread(CliRunner().invoke, cli, ["mcp", "tools", "--url", url])
        assert tools_out.exit_code == 0 and "add" in tools_out.output

        assert (await http.delete("/api/v1/mcp/servers/demo")).status_code == 204
        assert (await http.get("/api/v1/mcp/servers/demo")).status_code == 404
        assert "add" not in names((await http.get("/api/v1/tools")).json())
        missing = await http.post("/api/v1/mcp/servers/nope/refresh")
        assert missing.status_code == 404


async def test_a_broken_entry_shows_its_error_and_the_rest_load(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = write_settings(
        tmp_path / "mcp_setting.json",
        {"good": stdio_entry(), "broken": {"url": "http://127.0.0.1:1/mcp", "args": ["x"]}},
    )
    url = start_server(mcp_settings_path=path, mcp_startup_wait_s=30.0)
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        servers = {s["name"]: s for s in (await http.get("/api/v1/mcp/servers")).json()["servers"]}
        assert servers["good"]["status"] == "connected" and servers["good"]["origin"] == "file"
        broken = servers["broken"]
        assert broken["status"] == "error" and "args" in broken["last_error"]
        # A file entry cannot be deleted over HTTP, only disabled.
        refused = await http.delete("/api/v1/mcp/servers/good")
        assert (
            refused.status_code == 409 and "mcp_setting.json" in refused.json()["error"]["message"]
        )


async def test_only_admins_change_servers_and_bad_bodies_name_the_field(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(
        mcp_settings_path=tmp_path / "absent.json",
        api_keys={"key-alice": "alice", "key-bob": "bob"},
        admin_users={"alice"},
        allow_mcp_commands=True,
    )
    bob = {"Authorization": "Bearer key-bob"}
    alice = {"Authorization": "Bearer key-alice"}
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        body = {"name": "demo", **stdio_entry()}
        refused = await http.post("/api/v1/mcp/servers", json=body, headers=bob)
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden"
        assert (await http.get("/api/v1/mcp/servers", headers=bob)).status_code == 200
        for path in ("/api/v1/mcp/servers/demo/refresh",):
            assert (await http.post(path, headers=bob)).status_code == 403

        bad_bodies = {
            "command": {"name": "x"},
            "bogus": {"name": "x", "command": "c", "bogus": 1},
            "name": {"name": "bad name!", "command": "c"},
            "url": {"name": "x", "url": "ftp://example.org"},
            "transport": {"name": "x", "url": "http://h/mcp", "transport": "carrier-pigeon"},
            "args": {"name": "x", "command": "c", "args": "not a list"},
        }
        for field, bad in bad_bodies.items():
            response = await http.post("/api/v1/mcp/servers", json=bad, headers=alice)
            assert response.status_code == 422, (field, response.text)
            error = response.json()["error"]
            assert error["type"] == "validation_error"
            assert field in {d["field"] for d in error["details"]}, (field, error)
            assert field in error["message"]
        not_object = await http.post("/api/v1/mcp/servers", json=["x"], headers=alice)
        assert not_object.status_code == 422

        patch = await http.patch("/api/v1/mcp/servers/x", json={"disabled": "maybe"}, headers=alice)
        assert patch.status_code == 422


async def test_clashes_are_shown_and_prefixes_resolve_them_over_http_and_cli(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(mcp_settings_path=tmp_path / "absent.json", allow_mcp_commands=True)
    runner = CliRunner(env={"COLUMNS": "200"})

    def sage(*args: str) -> Any:
        split = args.index("--") if "--" in args else len(args)
        command = [*args[:split], "--url", url, *args[split:]]
        return asyncio.to_thread(runner.invoke, cli, command)

    entry = stdio_entry()
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        first = await http.post("/api/v1/mcp/servers", json={"name": "first", **entry})
        assert first.status_code == 201 and "add" in first.json()["tools"]

        added = await sage("mcp", "add", "second", "--", entry["command"], *entry["args"])
        assert added.exit_code == 0, added.output
        assert "registered second: 0 tools" in added.output
        assert "tool 'add' is shadowed by MCP server 'first'" in added.output
        assert "--prefix" in added.output

        second = (await http.get("/api/v1/mcp/servers/second")).json()
        assert second["tool_count"] == 0 and second["last_error"] is None
        assert {"tool": "add", "server": "first"} in second["shadowed"]
        assert "held by 'first'" in second["notice"]
        holder = (await http.get("/api/v1/mcp/servers/first")).json()
        assert {"tool": "add", "server": "second"} in holder["shadows"]

        listed = await sage("mcp", "list")
        assert listed.exit_code == 0
        assert "shadowed" in listed.output
        assert "second: tool 'add' is shadowed by MCP server 'first'" in listed.output

        prefixed = await sage(
            "mcp", "add", "third", "--prefix", "t3", "--", entry["command"], *entry["args"]
        )
        assert prefixed.exit_code == 0, prefixed.output
        assert "t3_add" in prefixed.output and "shadowed" not in prefixed.output
        third = (await http.get("/api/v1/mcp/servers/third")).json()
        assert third["prefix"] == "t3" and third["shadowed"] == []

        # enable / disable / refresh from the CLI; the other server takes the name over.
        disabled = await sage("mcp", "disable", "first")
        assert disabled.exit_code == 0 and "first is disabled" in disabled.output
        tools = names((await http.get("/api/v1/tools")).json())
        assert tools["add"]["server"] == "second"
        enabled = await sage("mcp", "enable", "first")
        assert enabled.exit_code == 0, enabled.output
        assert "enabled first: 0 tools" in enabled.output
        assert "tool 'add' is shadowed by MCP server 'second'" in enabled.output
        refreshed = await sage("mcp", "refresh", "third")
        assert refreshed.exit_code == 0 and "refreshed third:" in refreshed.output
        missing = await sage("mcp", "disable", "nope")
        assert missing.exit_code != 0 and "nope" in missing.output

        bad = await http.post(
            "/api/v1/mcp/servers", json={"name": "bad", **entry, "prefix": "no spaces"}
        )
        assert bad.status_code == 422
        assert any("prefix" in d["field"] for d in bad.json()["error"]["details"])


async def test_resources_prompts_and_progress_over_http(
    start_server: StartServer, tmp_path: Path
) -> None:
    rich = Path(__file__).parents[1] / "tools" / "mcp" / "servers" / "rich.py"
    path = write_settings(
        tmp_path / "mcp_setting.json",
        {
            "rich": {"command": sys.executable, "args": [str(rich)]},
            "demo": stdio_entry(),
            "raw": {"command": sys.executable, "args": [str(rich.with_name("raw.py"))]},
            "down": {"url": "http://127.0.0.1:9/mcp"},
        },
    )
    work = Turn(role="simple", tool_calls=[ScriptedToolCall(name="work", arguments={"steps": 2})])
    url = start_server(
        [work, Turn(role="simple", text="worked")],
        mcp_settings_path=path,
        mcp_startup_wait_s=30.0,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        resources = await http.get("/api/v1/mcp/servers/rich/resources")
        assert resources.status_code == 200, resources.text
        body = resources.json()
        assert body["supported"] is True
        assert {r["uri"] for r in body["resources"]} == {"rich://notes", "rich://logo.png"}
        assert body["templates"][0]["uri_template"] == "rich://topics/{topic}"
        prompts = (await http.get("/api/v1/mcp/servers/rich/prompts")).json()
        [review] = prompts["prompts"]
        assert review["name"] == "review"
        assert [(a["name"], a["required"]) for a in review["arguments"]] == [
            ("code", True),
            ("style", False),
        ]
        plain = (await http.get("/api/v1/mcp/servers/raw/prompts")).json()
        assert plain == {"supported": False, "prompts": [], "error": None}  # tools only
        assert (await http.get("/api/v1/mcp/servers/nope/resources")).status_code == 404
        down = await http.get("/api/v1/mcp/servers/down/resources")
        assert down.status_code == 200  # the server is down, not the request
        assert down.json()["resources"] == [] and "down" in down.json()["error"]
        await http.patch("/api/v1/mcp/servers/demo", json={"disabled": True})
        disabled = await http.get("/api/v1/mcp/servers/demo/resources")
        assert disabled.status_code == 409 and "disabled" in disabled.json()["error"]["message"]

        events = await chat(http, message="do the work")
        progress = [e for e in events if isinstance(e, ToolProgress)]
        assert progress and progress[-1].progress == 2 and progress[-1].total == 2
        assert progress[-1].message == "step 2 of 2"
