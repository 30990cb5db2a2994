"""mcp_setting.json parsing, the registry file, and MCP ↔ tool conversions."""

from __future__ import annotations

from pathlib import Path

import mcp_types
import pytest
from pydantic import ValidationError

from sagents.tools.mcp import McpServerEntry, McpServerRegistration, McpToolError, Transport
from sagents.tools.mcp.config import error_fields, load_mcp_settings, parse_mcp_settings
from sagents.tools.mcp.convert import call_result, parameters, tool_name
from sagents.tools.mcp.registry_file import (
    Registrations,
    load_registrations,
    save_registrations,
)
from sagents.tools.media import Media


def test_claude_desktop_and_cursor_configs_load_unchanged() -> None:
    loaded = parse_mcp_settings(
        {
            "mcpServers": {
                "fs": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                    "env": {"DEBUG": "1"},
                    "autoApprove": ["read_file"],  # Cline's key: ignored
                },
                "remote": {"url": "https://example.org/mcp", "type": "http"},  # Cursor's spelling
                "legacy": {"url": "https://example.org/sse"},
            }
        }
    )
    assert loaded.errors == {} and loaded.file_error is None
    assert loaded.servers["fs"].kind is Transport.STDIO
    assert loaded.servers["remote"].kind is Transport.STREAMABLE_HTTP
    assert loaded.servers["legacy"].kind is Transport.SSE  # a /sse URL means the SSE transport


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "command"),
        ({"command": "x", "url": "http://h/mcp"}, "url"),
        ({"command": ""}, "command"),
        ({"command": "x", "headers": {"A": "b"}}, "headers"),
        ({"command": "x", "transport": "sse"}, "transport"),
        ({"url": "http://h/mcp", "cwd": "/"}, "cwd"),
        ({"url": "http://h/mcp", "transport": "stdio"}, "transport"),
        ({"url": "http://h/mcp", "transport": "pigeon"}, "transport"),
        ({"url": "not a url"}, "url"),
        ({"command": "x", "args": [1]}, "args.0"),
    ],
)
def test_broken_entries_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        McpServerEntry.model_validate(raw)
    assert field in [where for where, _ in error_fields(caught.value)]


def test_a_broken_entry_is_reported_and_the_others_load() -> None:
    loaded = parse_mcp_settings(
        {
            "mcpServers": {
                "ok": {"command": "x"},
                "bad": {"url": "ftp://x"},
                "not an object": "x",
                "spaces in name": {"command": "x"},
            }
        }
    )
    assert list(loaded.servers) == ["ok"]
    assert loaded.errors["bad"] == "url: must be an http:// or https:// URL"
    assert "invalid name" in loaded.errors["spaces in name"]
    assert loaded.errors["not an object"]


def test_file_level_problems(tmp_path: Path) -> None:
    assert load_mcp_settings(tmp_path / "absent.json").servers == {}
    (tmp_path / "list.json").write_text("[]")
    assert "JSON object" in (load_mcp_settings(tmp_path / "list.json").file_error or "")
    (tmp_path / "servers.json").write_text('{"mcpServers": []}')
    assert "'mcpServers'" in (load_mcp_settings(tmp_path / "servers.json").file_error or "")


def test_registration_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        McpServerRegistration.model_validate({"name": "x", "command": "c", "autoApprove": []})
    assert [where for where, _ in error_fields(caught.value)] == ["autoApprove"]
    entry = McpServerRegistration.model_validate({"name": "x", "command": "c"}).entry()
    assert entry == McpServerEntry(command="c")


def test_registry_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "reg" / "mcp_servers.json"
    servers = {
        "a": McpServerEntry(command="x", args=["--y"], env={"K": "v"}, cwd="/srv"),
        "b": McpServerEntry(url="https://h/sse", headers={"Authorization": "Bearer t"}),
    }
    save_registrations(path, Registrations(servers, {"filed": True}))
    loaded = load_registrations(path)
    assert loaded.servers == servers and loaded.disabled_overrides == {"filed": True}
    assert path.stat().st_mode & 0o077 == 0  # may hold credentials: owner-only
    assert [p.name for p in path.parent.iterdir()] == ["mcp_servers.json"]


def test_tool_names_are_made_valid_for_function_calling() -> None:
    assert tool_name("files.read") == "files_read"
    assert tool_name("a/b c") == "a_b_c"
    assert tool_name("x" * 100) == "x" * 64
    assert tool_name("...") is None


def test_schemas_and_results() -> None:
    bare = mcp_types.Tool(name="t", input_schema={"type": "object"})
    assert parameters(bare) == {"type": "object", "properties": {}}
    assert parameters(mcp_types.Tool(name="t", input_schema={"type": "array"})) is None

    text = mcp_types.TextContent(type="text", text="hello")
    image = mcp_types.ImageContent(type="image", data="AAAA", mime_type="image/png")
    audio = mcp_types.AudioContent(type="audio", data="AAECAw==", mime_type="audio/wav")
    broken = mcp_types.ImageContent(type="image", data="not base64!", mime_type="image/png")
    ok = call_result("s", "t", mcp_types.CallToolResult(content=[text, image, audio, broken]))
    assert ok.text == (
        "hello\n[image: image/png, 3 bytes]\n[audio: audio/wav, 4 bytes]\n"
        "[image image/png: not valid base64, dropped]"
    )
    assert ok.media == (
        Media("image", "image/png", b"\x00\x00\x00"),
        Media("audio", "audio/wav", b"\x00\x01\x02\x03"),
    )
    structured = mcp_types.CallToolResult(content=[], structured_content={"n": 1})
    assert call_result("s", "t", structured).text == '{"n":1}'
    failed = mcp_types.CallToolResult(content=[text], is_error=True)
    with pytest.raises(McpToolError, match="MCP server 's', tool 't': hello"):
        call_result("s", "t", failed)


def test_embedded_resources_are_kept() -> None:
    text_resource = mcp_types.EmbeddedResource(
        type="resource",
        resource=mcp_types.TextResourceContents(uri="file:///notes.md", text="# Notes"),
    )
    blob = mcp_types.EmbeddedResource(
        type="resource",
        resource=mcp_types.BlobResourceContents(
            uri="file:///pic.png", mime_type="image/png", blob="iVBO"
        ),
    )
    link = mcp_types.ResourceLink(type="resource_link", uri="file:///big.csv", name="big")
    result = call_result("s", "t", mcp_types.CallToolResult(content=[text_resource, blob, link]))
    assert result.text.splitlines() == [
        "[resource file:///notes.md]",
        "# Notes",
        "[image file:///pic.png: image/png, 3 bytes]",
        "[resource link: file:///big.csv (big); read it with mcp_read_resource]",
    ]
    assert [m.label for m in result.media] == ["file:///pic.png"]
