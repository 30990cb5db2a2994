"""How a script is confined: the limits and the bubblewrap command line.

Kept apart from the process handling in ``sandbox.py`` so the exact
isolation (what is mounted, what is unshared) can be read in one place.

The interpreter is the Python Sage runs on, minus the virtualenv: its base
installation (``sys.base_prefix``) is bind-mounted read-only at
``/opt/python`` and scripts run with ``-I -S``, so they see the standard
library and nothing else (no site-packages, no user site, no ``PYTHON*``
variables). Skill scripts must therefore use the standard library only.
"""

from __future__ import annotations

import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from sagents.settings import Settings

LAUNCHER = Path(__file__).with_name("launcher.py")
SANDBOX_PYTHON_ROOT = "/opt/python"
SANDBOX_WORKSPACE = "/workspace"
SANDBOX_LAUNCHER = "/opt/sage/launcher.py"
SANDBOX_UID_BASE = 200_000
SANDBOX_UID_SPAN = 100_000
"""When Sage runs as root, each workspace's scripts run as a uid in
[200000, 300000) derived from the workspace name: no real account uses it,
so the kernel's per-uid process count (RLIMIT_NPROC) counts that sandbox
alone."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    cpu_s: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    file_size_bytes: int = 16 * 1024 * 1024
    max_procs: int = 32
    wall_s: float = 30.0
    max_output_bytes: int = 65_536
    max_stdin_bytes: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        return cls(
            cpu_s=settings.skill_cpu_s,
            memory_bytes=settings.skill_memory_mb * 1024 * 1024,
            file_size_bytes=settings.skill_file_size_mb * 1024 * 1024,
            max_procs=settings.skill_max_procs,
            wall_s=settings.skill_wall_s,
            max_output_bytes=settings.skill_max_output_bytes,
        )


def base_python() -> tuple[Path, str]:
    """(prefix to mount, interpreter path relative to it) of the base Python."""
    prefix = Path(sys.base_prefix).resolve()
    executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    try:
        relative = executable.relative_to(prefix).as_posix()
    except ValueError:
        relative = f"bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return prefix, relative


def sandbox_uid(workspace: Path) -> int | None:
    """The uid scripts of this workspace run as, or None when not root."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + zlib.crc32(workspace.name.encode()) % SANDBOX_UID_SPAN


def clean_env(home: str) -> dict[str, str]:
    """The whole environment a script gets: nothing inherited, no secrets."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": f"{home}/.tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def launcher_args(limits: SandboxLimits, uid: int | None) -> list[str]:
    return [
        str(limits.cpu_s),
        str(limits.memory_bytes),
        str(limits.file_size_bytes),
        str(limits.max_procs),
        "-" if uid is None else str(uid),
        "--",
    ]


def bwrap_command(
    bwrap: str, workspace: Path, limits: SandboxLimits, uid: int | None, program: list[str]
) -> list[str]:
    """The full bubblewrap command running ``program`` (sandbox paths) confined.

    As root, bubblewrap runs without a user namespace (it may mount
    directly) and the launcher drops to ``uid`` with the two capabilities it
    needs for that; otherwise ``--unshare-user`` maps the caller's uid and
    the limits apply as usual. Either way: new network (no interfaces but a
    down loopback), PID, IPC and UTS namespaces; system directories
    read-only; the workspace the only writable place; no /tmp, no home.
    """
    prefix, _ = base_python()
    command = [bwrap]
    if uid is None:
        command += ["--unshare-user"]
    else:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    command += [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/{link}").is_symlink():
            command += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        else:
            command += ["--ro-bind-try", f"/{link}", f"/{link}"]
    for name in ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf"):
        command += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    command += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # bubblewrap creates intermediate folders 0700 when run as root,
        # which the dropped uid could not enter; make them explicit.
        "--perms",
        "0755",
        "--dir",
        "/opt",
        "--perms",
        "0755",
        "--dir",
        "/opt/sage",
        "--ro-bind",
        str(prefix),
        SANDBOX_PYTHON_ROOT,
        "--ro-bind",
        str(LAUNCHER),
        SANDBOX_LAUNCHER,
        "--bind",
        str(workspace),
        SANDBOX_WORKSPACE,
        "--chdir",
        SANDBOX_WORKSPACE,
        "--clearenv",
    ]
    for key, value in clean_env(SANDBOX_WORKSPACE).items():
        command += ["--setenv", key, value]
    python = sandbox_python()
    command += ["--", python, "-I", "-S", "-B", SANDBOX_LAUNCHER]
    command += launcher_args(limits, uid)
    return command + program


def sandbox_python() -> str:
    """The interpreter path as seen inside the sandbox."""
    _, relative = base_python()
    return f"{SANDBOX_PYTHON_ROOT}/{relative}"


def host_python() -> str:
    """The base interpreter on the host, for the unsandboxed mode."""
    prefix, relative = base_python()
    return str(prefix / relative)
