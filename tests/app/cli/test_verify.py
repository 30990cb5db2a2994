"""``sage verify``: the end-to-end self-test, with the bundled mock (a server
of its own) and against a running server whose LLM does not call tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from sagents.testing import Turn
from tests.app.conftest import StartServer

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ["SAGE_URL", "SAGE_LLM_BASE_URL", "SAGE_LLM_MODEL", "SAGE_API_KEYS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_verify_with_the_mock_passes_every_step(clean_env: Path) -> None:
    result = runner.invoke(app, ["verify", "--mock"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for step in ("chat", "tool call", "cancel", "resume"):
        assert any(line.startswith(f"✓ {step}") for line in lines), (step, result.output)
    assert "5 km = 3.10686 mi" in result.output  # the skill's script ran, in the sandbox


def test_verify_reports_a_model_that_calls_no_tool(
    clean_env: Path, start_server: StartServer
) -> None:
    url = start_server([Turn(text="ready")] * 4)
    result = runner.invoke(app, ["verify", "--url", url, "--timeout", "30"])
    assert result.exit_code == 1, result.output
    tool = next(line for line in result.output.splitlines() if "tool call" in line)
    assert tool.startswith("✗") and "no tool was called" in tool
    assert any(line.startswith("✓ chat") for line in result.output.splitlines())


def test_verify_without_a_server_says_how_to_start_one(clean_env: Path) -> None:
    result = runner.invoke(app, ["verify", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach Sage" in result.output and "--mock" in result.output
