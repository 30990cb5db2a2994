"""One HTTP stack: Sage's runtime dependencies name openai and httpx2, not
plain httpx or httpx-sse, and importing Sage loads neither."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in requirements}


def test_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = names(project["dependencies"])
    assert {"openai", "httpx2"} <= runtime
    assert not {"httpx", "httpx-sse"} & runtime
    assert "openai" not in names(project["optional-dependencies"]["dev"])


def test_importing_sage_loads_no_plain_httpx() -> None:
    code = (
        "import sys, app.main, app.cli.main, app.client, sagents.llm, sagents.testing;"
        "print(sorted(m for m in ('httpx', 'httpx_sse') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
