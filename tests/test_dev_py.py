"""``python3 dev.py`` as a new user runs it, on a copy of the project whose
packages are stubs (so pip builds Sage's real metadata but installs no
dependencies): a line per phase, no deprecation noise from the build, the
runtime install for ``serve`` and the dev tools for ``setup``, and ``serve``
becoming the server process so that stopping ``dev.py`` stops the server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STUB_MAIN = """
import os, time
from pathlib import Path

def main() -> None:
    Path("server.pid").write_text(str(os.getpid()))
    time.sleep(120)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "clone"
    copy.mkdir()
    for name in ("dev.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "sagents").mkdir()
    (copy / "sagents" / "__init__.py").write_text("")
    (copy / "app" / "cli").mkdir(parents=True)
    (copy / "app" / "__init__.py").write_text("")
    (copy / "app" / "cli" / "__init__.py").write_text("")
    (copy / "app" / "cli" / "main.py").write_text(STUB_MAIN)
    return copy


def run_dev(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PIP_NO_DEPS"] = "1"  # the project's own metadata is built; nothing else installed
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.Popen(
        [sys.executable, "dev.py", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.timeout(600)
def test_setup_steps_serve_and_stop(project: Path) -> None:
    serve = run_dev(project, "serve", "--port", "1")
    pid_file = project / "server.pid"
    deadline = time.monotonic() + 480
    while not pid_file.exists() and serve.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert pid_file.exists(), "the server never started"
        # dev.py became the server: stopping it stops the server, no orphan
        assert int(pid_file.read_text()) == serve.pid
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
    assert "[1/4] creating a virtualenv" in out, out
    assert "[3/4] installing Sage in editable mode, runtime dependencies only" in out, out
    assert "done in" in out
    assert "deprecat" not in out.lower(), out

    setup = run_dev(project, "setup")
    out, _ = setup.communicate(timeout=480)
    assert setup.returncode == 0, out
    assert "with the dev tools" in out, out
    assert "deprecat" not in out.lower(), out

    again = run_dev(project, "setup")
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 0, out
    assert "[2/4] pip: up to date" in out and "[4/4]" in out, out
    assert "pip install" not in out
