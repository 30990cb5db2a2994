"""One server per data directory, as a user meets it: a second ``sage serve``
(or ``sage chat --local``) on a directory a server owns exits with one clear
message, and a kill -9 of the owner frees the directory at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from app.cli.main import app
from sagents.testing import MockLLMServer
from tests.app.server_process import free_port, spawn, wait_ready


def refused(proc: subprocess.Popen[bytes], owner_pid: int) -> str:
    """Wait for ``proc`` to give up; returns what it printed."""
    out, err = proc.communicate(timeout=60)
    text = (out or b"").decode() + err.decode()
    assert proc.returncode == 1, text
    assert f"pid {owner_pid}" in text and "SAGE_DATA_DIR" in text and "sage chat" in text
    assert "Traceback" not in text
    return text


def test_a_second_server_is_refused_until_the_first_is_killed(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    port = free_port()
    first = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(f"http://127.0.0.1:{port}", first)
        second = spawn(tmp_path, free_port(), mock_llm.base_url)
        text = refused(second, first.pid)
        assert str(tmp_path) in text

        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")} | {
            "SAGE_DATA_DIR": str(tmp_path),
            "SAGE_LLM_BASE_URL": mock_llm.base_url,
            "SAGE_LLM_MODEL": "mock",
        }
        local = subprocess.Popen(
            [sys.executable, "-m", "app", "chat", "--local", "hello"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        refused(local, first.pid)
        assert mock_llm.requests == []  # neither got as far as asking the LLM

        # The owner still serves.
        assert httpx2.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

    # No clean-up ran in the killed server; the kernel dropped its lock.
    port = free_port()
    third = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(f"http://127.0.0.1:{port}", third)
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(10)


def test_an_unusable_data_directory_is_one_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("SAGE_DATA_DIR", str(tmp_path / "a-file" / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "cannot use the data directory" in result.output and "Not a directory" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
