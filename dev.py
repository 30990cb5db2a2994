#!/usr/bin/env python3
"""Set up and run Sage from a fresh clone with nothing but Python 3.11+ and pip.

    python3 dev.py serve [sage serve options]   set up, then start the service
    python3 dev.py test  [pytest options]       set up, then run the test suite
    python3 dev.py lint                         set up, then ruff + mypy

Setting up means: a virtualenv in .venv with the project installed in
editable mode plus its dev extras. It is redone only when pyproject.toml
changes, so repeated runs start at once. Standard library only, because it
runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".sage-installed"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


SYSTEM_PACKAGES = {
    # command: (apt package, what is missing without it)
    "bwrap": ("bubblewrap", "skill scripts will be refused"),
    "chromium": ("chromium", "the web page's browser tests will be skipped"),
}


def system_packages() -> None:
    """bubblewrap sandboxes skill scripts; Debian's Chromium runs the web
    page's tests (Playwright drives it; no browser is downloaded). Installed
    with apt when we can (root on Debian/Ubuntu); otherwise say how."""
    if not sys.platform.startswith("linux"):
        return
    missing = {cmd: pkg for cmd, pkg in SYSTEM_PACKAGES.items() if not shutil.which(cmd)}
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _run("apt-get", "update", "-qq")
        _run("apt-get", "install", "-y", "-qq", *(pkg for pkg, _ in missing.values()))
        return
    for cmd, (pkg, without) in missing.items():
        print(
            f"note: {cmd} is not installed; {without}. Install it with: sudo apt-get install {pkg}",
            flush=True,
        )


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before anything checks it
        sys.exit(f"Sage needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test", "lint", "setup"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    setup()
    system_packages()
    if command == "setup":
        return 0
    if command == "serve":
        return subprocess.call([str(BIN / "sage"), "serve", *rest], cwd=ROOT)
    if command == "test":
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT)
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
    ]
    return max(subprocess.call(cmd, cwd=ROOT) for cmd in checks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
