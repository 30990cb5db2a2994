"""``sage status`` against a live server: one line per part, exit 1 when a
part is not well or the server cannot be reached."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx2
from typer.testing import CliRunner

from app.cli.main import app
from sagents.testing import Turn
from tests.app.conftest import StartServer

runner = CliRunner()


def test_status_of_a_healthy_server(start_server: StartServer) -> None:
    url = start_server([Turn(text="ok")])
    result = runner.invoke(app, ["status", "--url", url])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("✓ server") and "0 active run(s)" in lines[0]
    for part in ("store", "registry", "llm", "mcp", "skills", "memory"):
        assert any(line.startswith(f"✓ {part}") for line in lines), (part, result.output)
    as_json = json.loads(runner.invoke(app, ["status", "--json", "--url", url]).output)
    assert as_json["store"]["ok"] and as_json["version"]


def test_status_names_a_failing_mcp_server(start_server: StartServer) -> None:
    url = start_server([Turn(text="ok")], allow_mcp_commands=True)
    httpx2.post(
        f"{url}/api/v1/mcp/servers",
        json={"name": "broken", "command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
        timeout=60,
    )
    result = runner.invoke(app, ["status", "--url", url])
    assert result.exit_code == 1, result.output
    mcp = next(line for line in result.output.splitlines() if "mcp" in line)
    assert mcp.startswith("✗") and "broken" in mcp


def test_status_without_a_server(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach Sage at http://127.0.0.1:9" in result.output
    assert "sage serve" in result.output


def test_status_shows_what_the_llm_client_learned(start_server: StartServer) -> None:
    url = start_server(
        [
            Turn(role="router", json={"deep_thinking": False, "multi_agent": False}),
            Turn(role="simple", text="Hi."),
        ]
    )
    with httpx2.stream("POST", f"{url}/api/v1/chat", json={"message": "hi"}, timeout=30) as r:
        r.read()
    result = runner.invoke(app, ["status", "--json", "--url", url])
    llm = json.loads(result.output)["llm"]["detail"]
    assert "learned: test-model: structured output json_schema" in llm, llm
