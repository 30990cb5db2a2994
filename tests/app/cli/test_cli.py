"""The ``sage`` command, run through typer's runner against real servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from sagents.testing import MockLLMServer, Script, Turn
from tests.app.conftest import StartServer

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ["SAGE_LLM_BASE_URL", "SAGE_LLM_API_KEY", "SAGE_LLM_MODEL", "SAGE_API_KEYS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


def test_serve_refuses_public_bind_without_keys(clean_env: Path) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "SAGE_API_KEYS" in result.output and "127.0.0.1" in result.output


def test_flow_prints_mermaid(clean_env: Path) -> None:
    result = runner.invoke(app, ["flow"])
    assert result.exit_code == 0
    assert result.output.startswith("flowchart TD") and "simple" in result.output


def test_doctor_without_llm_says_what_to_set(clean_env: Path) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "SAGE_LLM_BASE_URL" in result.output and "SAGE_LLM_MODEL" in result.output


def test_doctor_masks_the_key_and_reaches_the_llm(
    clean_env: Path, mock_llm: MockLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGE_LLM_BASE_URL", mock_llm.base_url)
    monkeypatch.setenv("SAGE_LLM_MODEL", "sage-mock")  # the name the mock lists
    monkeypatch.setenv("SAGE_LLM_API_KEY", "sk-verysecretvalue")
    mock_llm.set_script(Script(turns=[Turn(text="ready")], cycle=True))
    result = runner.invoke(app, ["doctor", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "sk-verysecretvalue" not in result.output
    assert "llm_api_key" in result.output  # the configuration, masked
    assert "reachable" in result.output


def test_chat_and_sessions_against_a_server(clean_env: Path, start_server: StartServer) -> None:
    url = start_server(
        [
            Turn(role="router", json={"deep_thinking": False, "multi_agent": False}),
            Turn(role="simple", text="Paris is the capital of France."),
        ]
    )
    result = runner.invoke(app, ["chat", "--url", url, "Capital of France?"])
    assert result.exit_code == 0, result.output
    assert "Paris is the capital of France." in result.output
    listing = runner.invoke(app, ["sessions", "list", "--url", url])
    assert listing.exit_code == 0 and "Capital of" in listing.output  # cut to fit 80 columns


def test_chat_against_nothing_says_how_to_start(clean_env: Path) -> None:
    result = runner.invoke(app, ["chat", "--url", "http://127.0.0.1:9", "hi"])
    assert result.exit_code == 1
    assert "sage serve" in result.output
