"""Kill -9 the server mid-run, start it again: completed messages are there and
the run is ``interrupted``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from sagents.testing import MockLLMServer, Script, Turn
from tests.app.conftest import SIMPLE, sse_events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(data_dir: Path, port: int, llm_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")} | {
        "SAGE_DATA_DIR": str(data_dir),
        "SAGE_LLM_BASE_URL": llm_url,
        "SAGE_LLM_MODEL": "mock",
        "SAGE_LLM_API_KEY": "k",
        # Both would take the scripted turns meant for the answer.
        "SAGE_MEMORY_EXTRACT": "false",
        "SAGE_SKILLS_BUNDLED_DIR": str(data_dir / "no-skills"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx2.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


async def test_kill_9_mid_run_then_restart(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    mock_llm.set_script(
        Script(
            turns=[
                Turn(text="First answer, complete."),
                Turn(text="slow " * 500, faults={"token_delay_s": 0.02}),
            ]
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            first = [
                e
                async for e in sse_events(
                    http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "one"}
                )
            ]
            assert first[-1].type == "run.finished"
            sid = first[0].session_id
            payload = {**SIMPLE, "message": "two", "session_id": sid}
            deltas = 0
            run_id = ""
            try:
                async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
                    run_id = event.run_id
                    if event.type == "message.delta":
                        deltas += 1
                        if deltas == 5:
                            os.kill(proc.pid, signal.SIGKILL)
                            proc.wait(5)
            except httpx2.HTTPError:
                pass  # the connection died with the server
            assert deltas >= 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

    proc = spawn(tmp_path, port, mock_llm.base_url)
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "one"),
        ("assistant", "First answer, complete."),
        ("user", "two"),
    ]
    runs = {r["id"]: r["status"] for r in detail["runs"]}
    assert runs[run_id] == "interrupted"
    assert runs[first[0].run_id] == "finished"
    assert detail["status"] == "interrupted"
