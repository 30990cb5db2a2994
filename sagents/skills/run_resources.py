"""What one script call holds while it runs, and the skill's stream.

The temporary files (skill, workspace seed, result), the control pipe, the
memory files passed to bubblewrap as data, and what is given back after the
call (its cgroup, its uid, its run folder in unsandboxed mode). Kept apart
from ``sandbox.py`` so everything a call opens is closed in one place
(``RunResources.__exit__``), whatever way the call ends.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from sagents.skills import wsstream
from sagents.skills.cgroups import RunCgroup
from sagents.skills.confinement import RunFds, data_fd

SKILL_MAX_BYTES = 256 * 1024 * 1024
SKILL_MAX_ENTRIES = 100_000


class RunResources:
    """The temporary files, pipes and descriptors of one call, closed on exit."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        # Unnamed (O_TMPFILE where the filesystem has it): nothing to clean up after a crash.
        self.skill: BinaryIO = tempfile.TemporaryFile(dir=staging)  # noqa: SIM115 - closed in __exit__
        self.seed: BinaryIO = tempfile.TemporaryFile(dir=staging)  # noqa: SIM115
        self.result: BinaryIO = tempfile.TemporaryFile(dir=staging)  # noqa: SIM115
        self.control_r, self.control_w = os.pipe()
        self._extra: list[int] = []
        self.cgroup: RunCgroup | None = None
        self.uid: int | None = None
        self.run_dir: Path | None = None

    def fds(
        self,
        code: tuple[bytes, bytes, bytes],
        seccomp: bytes | None,
        venv: tuple[bytes, bytes] | None,
    ) -> RunFds:
        launcher = self._data(code[0], "sage-launcher")
        stream = self._data(code[1], "sage-wsstream")
        tree = self._data(code[2], "sage-fdtree")
        filter_fd = self._data(seccomp, "sage-seccomp") if seccomp is not None else None
        venv_config = self._data(venv[0], "sage-pyvenv") if venv is not None else None
        venv_pth = self._data(venv[1], "sage-pth") if venv is not None else None
        return RunFds(
            skill=self.skill.fileno(),
            seed=self.seed.fileno(),
            result=self.result.fileno(),
            control=self.control_r,
            launcher=launcher,
            stream_module=stream,
            tree_module=tree,
            seccomp=filter_fd,
            venv_config=venv_config,
            venv_pth=venv_pth,
        )

    def _data(self, data: bytes, name: str) -> int:
        fd = data_fd(data, name)
        self._extra.append(fd)
        return fd

    def __enter__(self) -> RunResources:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in (self.skill, self.seed, self.result):
            handle.close()
        for fd in (self.control_r, self.control_w, *self._extra):
            with contextlib.suppress(OSError):
                os.close(fd)


def write_skill(folder: Path, out: BinaryIO) -> wsstream.Listing:
    """Stream the skill's folder (regular files and folders, nothing followed)."""
    writer = wsstream.Writer(out, wsstream.Limits(SKILL_MAX_BYTES, SKILL_MAX_ENTRIES))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        writer.add_tree(fd)
    finally:
        os.close(fd)
    writer.end()
    out.seek(0)
    return writer.listing


def make_run_dir(run_dir: Path) -> None:
    run_dir.mkdir(mode=0o700)
    (run_dir / "workspace").mkdir(mode=0o700)
    (run_dir / "skills").mkdir(mode=0o700)
