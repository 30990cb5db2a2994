"""One address setting: ``sage serve`` and the CLI's client commands read the
same SAGE_URL (or SAGE_HOST/SAGE_PORT), as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sagents.testing import MockLLMServer, Script, Turn
from tests.app.server_process import free_port, stop, wait_ready


def env_for(tmp_path: Path, llm_url: str, **settings: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")} | {
        "SAGE_DATA_DIR": str(tmp_path / "data"),
        "SAGE_LLM_BASE_URL": llm_url,
        "SAGE_LLM_MODEL": "mock",
        "SAGE_MEMORY_ENABLED": "false",
        "SAGE_SKILLS_BUNDLED_DIR": str(tmp_path / "no-skills"),
        "SAGE_MCP_SETTINGS_PATH": "",
        "COLUMNS": "200",
        **settings,
    }


def run_pair(tmp_path: Path, llm_url: str, url: str, **settings: str) -> str:
    env = env_for(tmp_path, llm_url, **settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(url, proc)
        chat = subprocess.run(
            [sys.executable, "-m", "app", "chat", "--no-deep", "--no-multi", "hi"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert chat.returncode == 0, chat.stdout + chat.stderr
        return chat.stdout
    finally:
        stop(proc)


def test_sage_port_is_shared_by_serve_and_chat(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    mock_llm.set_script(Script(turns=[Turn(text="Hello over the shared port.")], cycle=True))
    port = free_port()
    out = run_pair(tmp_path, mock_llm.base_url, f"http://127.0.0.1:{port}", SAGE_PORT=str(port))
    assert "Hello over the shared port." in out


def test_sage_url_is_shared_by_serve_and_chat(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    mock_llm.set_script(Script(turns=[Turn(text="Hello over the shared URL.")], cycle=True))
    url = f"http://127.0.0.1:{free_port()}"
    out = run_pair(tmp_path, mock_llm.base_url, url, SAGE_URL=url)
    assert "Hello over the shared URL." in out


def test_a_bad_sage_url_is_a_usage_error(tmp_path: Path) -> None:
    env = env_for(tmp_path, "http://127.0.0.1:9/v1", SAGE_URL="ftp://nowhere")
    chat = subprocess.run(
        [sys.executable, "-m", "app", "sessions", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 2
    assert "SAGE_URL" in chat.stderr and "Traceback" not in chat.stderr
