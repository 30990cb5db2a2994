"""``sage chat`` as a user runs it: a real process, Ctrl-C cancels the run cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from sagents.testing import MockLLMServer, Turn
from tests.app.conftest import StartServer


def sage(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env["SAGE_DATA_DIR"] = str(tmp_path / "cli-data")
    env["COLUMNS"] = "200"
    env["SAGE_SKILLS_BUNDLED_DIR"] = str(tmp_path / "no-skills")
    env["SAGE_MEMORY_EXTRACT"] = "false"
    return env


def test_ctrl_c_cancels_the_run(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server([Turn(text="tok " * 2000, faults={"token_delay_s": 0.01})])
    proc = sage(
        "chat",
        "--url",
        url,
        "--no-deep",
        "--no-multi",
        "talk a lot",
        env=base_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "session … · run …" once the run started
    assert "session" in first
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 130, out  # interrupted, as shells report it
    assert "cancelled" in out
    sessions = httpx2.get(f"{url}/api/v1/sessions").json()["items"]
    detail = httpx2.get(f"{url}/api/v1/sessions/{sessions[0]['id']}").json()
    assert detail["runs"][0]["status"] == "cancelled"


def test_local_chat_runs_in_process(mock_llm: MockLLMServer, tmp_path: Path) -> None:
    mock_llm.set_script(
        [
            Turn(role="router", json={"deep_thinking": False, "multi_agent": False}),
            Turn(role="simple", text="Local answer."),
        ]
    )
    env = base_env(tmp_path) | {
        "SAGE_LLM_BASE_URL": mock_llm.base_url,
        "SAGE_LLM_MODEL": "mock",
        "SAGE_LLM_API_KEY": "k",
    }
    proc = sage("chat", "--local", "hello", env=env, cwd=tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Local answer." in out
    assert (tmp_path / "cli-data" / "sage.db").exists()
