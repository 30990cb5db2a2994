"""``sage doctor`` probing the mock LLM in each dialect, and ``sage mock-llm
--dialect``: what works, what Sage falls back to, what it learned."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from app.cli.main import MockDialect, app
from sagents.testing import DIALECT_NAMES, MockLLMServer, Script, ScriptedToolCall, Turn

runner = CliRunner()

PROBE_TURNS = [
    Turn(text="ready"),
    Turn(tool_calls=[ScriptedToolCall(name="get_time", arguments={"timezone": "UTC"})]),
    Turn(json={"ok": True, "word": "ready"}),
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ["SAGE_LLM_BASE_URL", "SAGE_LLM_API_KEY", "SAGE_LLM_MODEL", "SAGE_API_KEYS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAGE_LLM_MODEL", "sage-mock")
    monkeypatch.setenv("COLUMNS", "240")  # table rows on one line each
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    servers: list[MockLLMServer] = []

    def start(dialect: str, script: Script) -> MockLLMServer:
        server = MockLLMServer(script, dialect=dialect)
        monkeypatch.setenv("SAGE_LLM_BASE_URL", server.start())
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def rows(output: str) -> dict[str, str]:
    """check name → the rest of its table row."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        for name in ("model listed", "streaming", "tool calling", "structured output", "usage"):
            if name in line and name not in found:
                found[name] = line
    return found


def test_doctor_on_an_openai_like_endpoint(env: Path, serve: object) -> None:
    serve("openai", Script(turns=PROBE_TURNS))  # type: ignore[operator]
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    found = rows(result.output)
    assert "✓" in found["model listed"] and "sage-mock is served" in found["model listed"]
    assert "✓" in found["streaming"]
    assert "called get_time" in found["tool calling"]
    assert "strict json_schema" in found["structured output"]
    assert "reports token usage" in found["usage"]
    assert "reachable" in result.output


def test_doctor_shows_what_it_learned_from_llamacpp(env: Path, serve: object) -> None:
    server = serve("llamacpp", Script(turns=PROBE_TURNS))  # type: ignore[operator]
    result = runner.invoke(app, ["doctor", "--verbose"])
    assert result.exit_code == 0, result.output
    found = rows(result.output)
    assert "JSON mode" in found["structured output"]
    assert "HTTP 500" in result.output  # the refusal it learned from
    assert "counts tokens itself" in result.output
    assert '"structured_output": "json_object"' in result.output
    assert [b.get("response_format", {}).get("type") for b in server.requests][-2:] == [  # type: ignore[attr-defined]
        "json_schema",
        "json_object",
    ]


def test_doctor_fails_when_the_endpoint_cannot_stream(env: Path, serve: object) -> None:
    serve("openai", Script(turns=[]))  # type: ignore[operator]
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗ streaming" in result.output and "fix: check SAGE_LLM_BASE_URL" in result.output


def test_mock_llm_offers_every_dialect() -> None:
    assert tuple(d.value for d in MockDialect) == DIALECT_NAMES


def test_mock_llm_command_serves_the_chosen_dialect(env: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "mock-llm", "--port", str(port), "--dialect", "llamacpp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx2.get(f"{url}/models")
                break
            except httpx2.ConnectError:
                assert process.poll() is None, "sage mock-llm exited early"
                assert time.monotonic() < deadline, "sage mock-llm did not start"
                time.sleep(0.1)
        refused = httpx2.post(
            f"{url}/chat/completions",
            json={"messages": [], "response_format": {"type": "json_schema"}},
        )
        assert refused.status_code == 500  # llama.cpp's answer
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "llamacpp" in output.decode()


def test_doctor_names_a_missing_bubblewrap_and_a_wrong_model_with_fixes(
    env: Path, serve: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve("openai", Script(turns=PROBE_TURNS))  # type: ignore[operator]
    monkeypatch.setenv("SAGE_LLM_MODEL", "gpt-typo")
    monkeypatch.setenv("PATH", str(env / "empty-bin"))  # no bwrap on it
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    sandbox = next(i for i, line in enumerate(lines) if "sandbox" in line)
    assert lines[sandbox].startswith("✗") and "bwrap" in lines[sandbox]
    assert "fix: sudo apt-get install bubblewrap" in lines[sandbox + 1]
    model = next(i for i, line in enumerate(lines) if "model listed" in line)
    assert lines[model].startswith("✗") and "gpt-typo" in lines[model]
    assert "fix: set SAGE_LLM_MODEL to a model the server lists: sage-mock" in lines[model + 1]
    assert "problem(s): model listed, sandbox" in result.output


def test_doctor_checks_mcp_servers_the_data_dir_and_memory(
    env: Path, serve: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve("openai", Script(turns=PROBE_TURNS))  # type: ignore[operator]
    (env / "mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
                }
            }
        )
    )
    monkeypatch.setenv("SAGE_MCP_SETTINGS_PATH", str(env / "mcp.json"))
    monkeypatch.setenv("SAGE_MCP_CONNECT_TIMEOUT_S", "10")
    (env / "data").write_text("a file where the folder should be")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    broken = next(i for i, line in enumerate(lines) if "MCP broken" in line)
    assert lines[broken].startswith("✗") and "fix:" in lines[broken + 1]
    data = next(i for i, line in enumerate(lines) if "data directory" in line)
    assert lines[data].startswith("✗") and "fix: set SAGE_DATA_DIR" in lines[data + 1]
    assert any(line.startswith("✓ memory model") for line in lines)


def test_doctor_names_the_store_and_registry_and_whether_they_answer(
    env: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    monkeypatch.setenv("SAGE_DATABASE_URL", pg_url)
    monkeypatch.setenv("SAGE_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = runner.invoke(app, ["doctor"])
    lines = result.output.splitlines()
    store = next(line for line in lines if " store " in line)
    assert store.startswith("✓") and "PostgreSQL postgresql://127.0.0.1:5432/sage_test_" in store
    registry = next(line for line in lines if " run registry " in line)
    assert registry.startswith("✓") and "Redis redis://127.0.0.1:6379/0" in registry
    assert "@" not in store  # credentials are never shown
    assert result.exit_code == 1  # the LLM is not configured here
    assert "store" not in result.output.split("problem(s):")[-1]

    monkeypatch.setenv("SAGE_REDIS_URL", "redis://127.0.0.1:9/0")
    result = runner.invoke(app, ["doctor"])
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if " run registry " in line)
    assert lines[at].startswith("✗") and "redis://127.0.0.1:9/0" in lines[at]
    assert "fix: start Redis" in lines[at + 1]
    assert result.exit_code == 1 and "run registry" in result.output.split("problem(s):")[-1]
