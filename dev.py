#!/usr/bin/env python3
"""Set up and run Sage from a fresh clone with nothing but Python 3.11+ and pip.

    python3 dev.py serve [sage serve options]   set up (runtime only), then start the service
    python3 dev.py test  [pytest options]       set up (with dev tools), then run the tests
    python3 dev.py lint                         set up (with dev tools), then ruff + mypy
    python3 dev.py setup                        set up (with dev tools) and stop

Setting up means: a virtualenv in .venv with the project installed in
editable mode; `serve` needs only Sage's own dependencies, `test`, `lint`
and `setup` add the dev extras (pytest, ruff, mypy, …). Each phase prints a
line saying what it does and how long it took, and pip shows its own
progress. It is redone only when pyproject.toml changes (or dev tools are
wanted and not yet there), so repeated runs start at once. Standard library
only, because it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".sage-installed"
PHASES = 4


@contextmanager
def phase(number: int, what: str) -> Iterator[None]:
    """One line before a phase and one after it with its duration, so a
    long pip run is never mistaken for a hang."""
    print(f"[{number}/{PHASES}] {what}", flush=True)
    started = time.monotonic()
    yield
    print(f"[{number}/{PHASES}] done in {time.monotonic() - started:.1f}s", flush=True)


def skip(number: int, what: str) -> None:
    print(f"[{number}/{PHASES}] {what}", flush=True)


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


SYSTEM_PACKAGES = {
    # command: (apt package, what is missing without it)
    "bwrap": ("bubblewrap", "skill scripts will be refused"),
    "chromium": ("chromium", "the web page's browser tests will be skipped"),
}


def system_packages(number: int) -> None:
    """bubblewrap sandboxes skill scripts; Debian's Chromium runs the web
    page's tests (Playwright drives it; no browser is downloaded). Installed
    with apt when we can (root on Debian/Ubuntu); otherwise say how."""
    missing = {cmd: pkg for cmd, pkg in SYSTEM_PACKAGES.items() if not shutil.which(cmd)}
    if not sys.platform.startswith("linux") or not missing:
        skip(number, "system packages (bubblewrap, chromium): present")
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        packages = [pkg for pkg, _ in missing.values()]
        with phase(number, f"installing system packages with apt: {' '.join(packages)}"):
            _run("apt-get", "update")
            _run("apt-get", "install", "-y", *packages)
        return
    skip(number, "system packages: some are missing")
    for cmd, (pkg, without) in missing.items():
        print(
            f"note: {cmd} is not installed; {without}. Install it with: sudo apt-get install {pkg}",
            flush=True,
        )


def _installed() -> dict[str, object]:
    try:
        found = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def setup(dev: bool) -> None:
    """The virtualenv with Sage installed (plus the dev extras when ``dev``)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before anything checks it
        sys.exit(f"Sage needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if (BIN / "python").exists():
        skip(1, f"virtualenv {VENV}: present")
    else:
        with phase(1, f"creating a virtualenv in {VENV}"):
            venv.create(VENV, with_pip=True)
    done = _installed()
    if done.get("pyproject") == wanted and (done.get("dev") or not dev):
        skip(2, "pip: up to date")
        skip(3, "Sage: installed, pyproject.toml unchanged")
        return
    with phase(2, "upgrading pip"):
        _run(BIN / "python", "-m", "pip", "install", "--upgrade", "pip")
    target = ".[dev]" if dev else "."
    extras = "with the dev tools (pytest, ruff, mypy, …)" if dev else "runtime dependencies only"
    with phase(3, f"installing Sage in editable mode, {extras}; first time: a few minutes"):
        _run(BIN / "python", "-m", "pip", "install", "-e", target)
    STAMP.write_text(json.dumps({"pyproject": wanted, "dev": dev}))


def serve(rest: list[str]) -> int:
    """Become ``sage serve`` (exec on POSIX), so whatever stops ``dev.py``
    (Ctrl-C, kill, a supervisor) stops the server itself and no child is
    left running."""
    sage = str(BIN / "sage")
    print(f"starting: sage serve {' '.join(rest)}".rstrip(), flush=True)
    if os.name == "posix":
        os.chdir(ROOT)
        os.execv(sage, [sage, "serve", *rest])
    return subprocess.call([sage, "serve", *rest], cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test", "lint", "setup"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    setup(dev=command != "serve")
    system_packages(4)
    if command == "setup":
        return 0
    if command == "serve":
        return serve(rest)
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
