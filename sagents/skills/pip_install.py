"""Running pip to install a skill's requirements into a folder, with limits.

pip runs on the host, at install time, never inside the sandbox, with
Sage's own interpreter (``sys.executable -I -m pip``), so what it picks is
built for the Python the sandbox runs (the same base interpreter: same
version, same ABI). ``--only-binary=:all:`` means no package's build code
runs: a wheel is unpacked, never executed. ``--target`` installs into a
fresh folder ignoring what Sage's own environment has installed. Nothing
is cached between installs (``--no-cache-dir``): a cache shared between
users is one more thing one could plant for another.

Limits: a wall time (the whole process group is killed), and a size for
everything pip writes (downloads included: its temporary folder is inside
the work folder), checked while it runs and at the end, plus a per-file
``RLIMIT_FSIZE``. pip's configuration (``pip.conf``, ``PIP_*`` variables)
is honoured, so the index is the one the server's pip uses unless the
settings name another; Sage's own variables never reach it
(``child_env.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import signal
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sagents.child_env import child_environment

OUTPUT_TAIL_BYTES = 64 * 1024
SIZE_CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class PipOptions:
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    timeout_s: float = 300.0
    max_bytes: int = 512 * 1024 * 1024

    def arguments(self) -> list[str]:
        out: list[str] = []
        if self.index_url:
            out += ["--index-url", self.index_url]
        if self.no_index:
            out.append("--no-index")
        for link in self.find_links:
            out += ["--find-links", link]
        return out


@dataclass(frozen=True, slots=True)
class PipOutcome:
    ok: bool
    reason: str
    """pip's own error lines when it failed, or the limit that stopped it."""
    output: str
    """The end of pip's output, for the log."""


def pip_command(requirements_file: Path, target: Path, options: PipOptions) -> list[str]:
    return [
        sys.executable,
        "-I",
        "-m",
        "pip",
        "install",
        "--only-binary=:all:",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        "--no-warn-script-location",
        "--progress-bar=off",
        *options.arguments(),
        "--target",
        str(target),
        "-r",
        str(requirements_file),
    ]


async def pip_install(
    requirements: Sequence[str], target: Path, work: Path, options: PipOptions
) -> PipOutcome:
    """Install ``requirements`` into ``target``, using ``work`` for pip's files.

    ``target`` and ``work`` are the caller's (``target`` inside ``work``, so
    the size limit counts both); the caller removes ``work`` on failure.
    """
    tmp = work / "tmp"
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    requirements_file = work / "requirements.txt"
    await asyncio.to_thread(requirements_file.write_text, "\n".join(requirements) + "\n")
    env = child_environment(
        {"TMPDIR": str(tmp), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LC_ALL": "C.UTF-8"},
        prefixes=("PIP_",),
    )
    process = await asyncio.create_subprocess_exec(
        *pip_command(requirements_file, target, options),
        cwd=work,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    with contextlib.suppress(OSError):  # a per-file bound; pip has barely started
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (options.max_bytes,) * 2)
    tail: deque[bytes] = deque()
    limit: str | None = None
    try:
        limit = await _supervise(process, work, options, tail)
    finally:
        if process.returncode is None:
            _kill_group(process)
            await process.wait()
    output = b"".join(tail).decode("utf-8", errors="replace")
    if limit is not None:
        return PipOutcome(False, limit, output)
    if process.returncode != 0:
        if f"[Errno {errno.EFBIG}]" in output:  # one file passed RLIMIT_FSIZE
            return PipOutcome(False, _too_large(options), output)
        return PipOutcome(False, _reason(output, process.returncode), output)
    size = await asyncio.to_thread(tree_bytes, target)
    if size > options.max_bytes:
        return PipOutcome(False, _too_large(options), output)
    return PipOutcome(True, "", output)


async def _supervise(
    process: asyncio.subprocess.Process, work: Path, options: PipOptions, tail: deque[bytes]
) -> str | None:
    """Read pip's output until it exits; the limit that stopped it, if one did."""
    assert process.stdout is not None
    stdout = process.stdout
    kept = 0

    async def read() -> None:
        nonlocal kept
        while chunk := await stdout.read(65536):
            tail.append(chunk)
            kept += len(chunk)
            while kept - len(tail[0]) >= OUTPUT_TAIL_BYTES:
                kept -= len(tail.popleft())
        await process.wait()

    reader = asyncio.ensure_future(read())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.timeout_s
    try:
        while not reader.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                timeout = f"{options.timeout_s:g} s"
                return f"pip did not finish within {timeout} (SAGE_SKILL_DEPS_TIMEOUT_S)"
            await asyncio.wait({reader}, timeout=min(SIZE_CHECK_INTERVAL_S, remaining))
            if not reader.done() and await asyncio.to_thread(tree_bytes, work) > options.max_bytes:
                return _too_large(options)
        reader.result()
        return None
    finally:
        if not reader.done():
            _kill_group(process)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def _too_large(options: PipOptions) -> str:
    megabytes = options.max_bytes // (1024 * 1024)
    return f"the requirements take more than {megabytes} MB (SAGE_SKILL_DEPS_MAX_MB)"


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _reason(output: str, code: int | None) -> str:
    """pip's ``ERROR:`` lines (what it says went wrong), else its last lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    chosen = errors[:5] or lines[-5:] or [f"pip exited with status {code}"]
    return " ".join(chosen)[:2000]


def tree_bytes(folder: Path) -> int:
    """Bytes used by the files under ``folder`` (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
