"""How a script is confined: the limits and the bubblewrap command line.

Kept apart from the process handling in ``sandbox.py`` so the exact
isolation (what is mounted, what is unshared) can be read in one place.

Inside the sandbox:

- ``/workspace``: a tmpfs of ``workspace_bytes`` (a real bound on what the
  script can write), the only writable place, filled from and saved to the
  session's workspace by the launcher as a stream (``wsstream.py``);
- ``/skills/<name>``: the skill being run, unpacked by the launcher as
  its own user; when Sage runs as root the script cannot change it;
- ``/opt/python``: the base Python Sage runs on (``sys.base_prefix``,
  read-only), run with ``-I -S``: the standard library and nothing else;
- ``/opt/sage``: the launcher, the stream format and its tree walks, compiled by the
  server and passed as data (``--ro-bind-data``), not bind-mounted from the
  source tree;
- ``/usr`` (and ``/bin``, ``/lib``…) and a few ``/etc`` files read-only,
  fresh ``/proc`` and ``/dev``.

No host folder that Sage writes is mounted, so ``/proc/self/mountinfo``
shows no data-directory path, and nothing a script leaves behind is ever a
path the server opens.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sagents.settings import Settings

LAUNCHER = Path(__file__).with_name("launcher.py")
STREAM_MODULE = Path(__file__).with_name("wsstream.py")
TREE_MODULE = Path(__file__).with_name("fdtree.py")
SANDBOX_PYTHON_ROOT = "/opt/python"
SANDBOX_WORKSPACE = "/workspace"
SANDBOX_SKILLS = "/skills"
SANDBOX_LAUNCHER = "/opt/sage/launcher.pyc"
SANDBOX_STREAM_MODULE = "/opt/sage/wsstream.pyc"
SANDBOX_TREE_MODULE = "/opt/sage/fdtree.pyc"
SANDBOX_UID_BASE = 200_000
SANDBOX_UID_SPAN = 100_000
"""When Sage runs as root, each script call runs as its own uid in
[200000, 300000): no real account uses it, so the kernel's per-uid process
count (RLIMIT_NPROC) counts that call alone."""
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    cpu_s: int = 10
    memory_bytes: int = 512 * MIB
    file_size_bytes: int = 16 * MIB
    max_procs: int = 32
    wall_s: float = 30.0
    max_output_bytes: int = 65_536
    max_stdin_bytes: int = 1_000_000
    workspace_bytes: int = 100 * MIB
    workspace_max_files: int = 10_000
    cpu_cores: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        return cls(
            cpu_s=settings.skill_cpu_s,
            memory_bytes=settings.skill_memory_mb * MIB,
            file_size_bytes=settings.skill_file_size_mb * MIB,
            max_procs=settings.skill_max_procs,
            wall_s=settings.skill_wall_s,
            max_output_bytes=settings.skill_max_output_bytes,
            workspace_bytes=settings.skill_workspace_mb * MIB,
            workspace_max_files=settings.skill_workspace_max_files,
            cpu_cores=settings.skill_cpu_cores,
        )

    @property
    def grace_s(self) -> float:
        """Time to unpack before and pack after the script (20 MB/s, plus 5 s)."""
        return 5.0 + 2 * self.workspace_bytes / (20 * MIB)

    @property
    def deadline_s(self) -> float:
        """The longest a call can take before everything is killed without saving."""
        return self.wall_s + self.grace_s


@dataclass(frozen=True, slots=True)
class RunFds:
    """The descriptors a run passes to bubblewrap and the launcher."""

    skill: int
    seed: int
    result: int
    control: int
    launcher: int
    stream_module: int
    tree_module: int
    seccomp: int | None
    venv_config: int | None = None
    """``pyvenv.cfg`` of the script's Python (``pyenv.py``), as data."""
    venv_pth: int | None = None
    """Its ``sage-skill.pth`` (the skill's folder and requirements), as data."""

    def all(self) -> tuple[int, ...]:
        fds = (
            self.skill,
            self.seed,
            self.result,
            self.control,
            self.launcher,
            self.stream_module,
            self.tree_module,
        )
        optional = (self.seccomp, self.venv_config, self.venv_pth)
        return fds + tuple(fd for fd in optional if fd is not None)


def base_python() -> tuple[Path, str]:
    """(prefix to mount, interpreter path relative to it) of the base Python."""
    prefix = Path(sys.base_prefix).resolve()
    executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    try:
        relative = executable.relative_to(prefix).as_posix()
    except ValueError:
        relative = f"bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return prefix, relative


def clean_env(home: str, bin_dir: str | None = None) -> dict[str, str]:
    """The whole environment a script gets: nothing inherited, no secrets.

    ``bin_dir`` (the script's venv, ``pyenv.py``) leads ``PATH``, so
    ``python3`` in a shell script is the skill's Python.
    """
    path = "/usr/local/bin:/usr/bin:/bin"
    return {
        "PATH": f"{bin_dir}:{path}" if bin_dir else path,
        "HOME": home,
        "TMPDIR": f"{home}/.tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def launcher_config(
    limits: SandboxLimits,
    fds: RunFds,
    *,
    uid: int | None,
    workspace: str,
    skills: str,
    skill_name: str,
    skill_bytes: int,
    skill_entries: int,
    pid_namespace: bool,
    cgroup: bool,
) -> list[str]:
    """The launcher's ``KEY=VALUE`` arguments (see ``launcher.py``).

    With a cgroup, its ``pids.max`` bounds the run's processes and
    ``RLIMIT_NPROC`` (counted per uid) is only a backstop at twice the limit;
    without, ``RLIMIT_NPROC`` is the bound.
    """
    values: dict[str, object] = {
        "cpu_s": limits.cpu_s,
        "memory_bytes": limits.memory_bytes,
        "file_size_bytes": limits.file_size_bytes,
        "max_procs": limits.max_procs * 2 if cgroup else limits.max_procs,
        "uid": "-" if uid is None else uid,
        "workspace": workspace,
        "skills_dir": skills,
        "skill_name": skill_name,
        "skill_bytes": skill_bytes,
        "skill_entries": skill_entries,
        "max_bytes": limits.workspace_bytes,
        "max_entries": limits.workspace_max_files,
        "skill_fd": fds.skill,
        "seed_fd": fds.seed,
        "result_fd": fds.result,
        "control_fd": fds.control,
        "pid_namespace": int(pid_namespace),
    }
    return [f"{key}={value}" for key, value in values.items()]


def compiled(source: Path) -> bytes:
    """``source`` as a ``.pyc`` for this interpreter (PEP 552 header, unchecked).

    The sandbox runs the same interpreter, and ``-B`` with a source passed as
    data would compile it again at every call; bytecode skips that.
    """
    code = compile(source.read_bytes(), source.name, "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)


def bwrap_command(
    bwrap: str,
    config: list[str],
    fds: RunFds,
    uid: int | None,
    program: list[str],
    *,
    workspace_bytes: int,
    venv: Sequence[str] = (),
    bin_dir: str | None = None,
) -> list[str]:
    """The full bubblewrap command running ``program`` (sandbox paths) confined.

    ``venv`` are the arguments laying out the script's Python
    (``pyenv.bwrap_venv``), ``bin_dir`` its ``bin`` folder for ``PATH``.

    As root, bubblewrap runs without a user namespace (one made by root
    maps the script to host root, for which the kernel skips RLIMIT_NPROC)
    and the launcher drops to ``uid`` with the capabilities it needs for
    that and for killing the script's processes. Not root:
    ``--unshare-user`` maps the caller's uid. Either way: new network (no
    interfaces but a down loopback), PID, IPC, UTS and cgroup namespaces,
    and the seccomp filter against new user namespaces (``seccomp.py``).
    """
    prefix, _ = base_python()
    command = [bwrap]
    if uid is None:
        command += ["--unshare-user"]
    else:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    if fds.seccomp is not None:
        command += ["--seccomp", str(fds.seccomp)]
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
        "--perms",
        "0444",
        "--ro-bind-data",
        str(fds.launcher),
        SANDBOX_LAUNCHER,
        "--perms",
        "0444",
        "--ro-bind-data",
        str(fds.stream_module),
        SANDBOX_STREAM_MODULE,
        "--perms",
        "0444",
        "--ro-bind-data",
        str(fds.tree_module),
        SANDBOX_TREE_MODULE,
        # Root-owned and world-writable: the script's uid is the only one inside.
        "--perms",
        "0777",
        "--size",
        str(workspace_bytes),
        "--tmpfs",
        SANDBOX_WORKSPACE,
        "--perms",
        "0755",
        "--dir",
        SANDBOX_SKILLS,
        *venv,
        "--chdir",
        SANDBOX_WORKSPACE,
        "--clearenv",
    ]
    for key, value in clean_env(SANDBOX_WORKSPACE, bin_dir).items():
        command += ["--setenv", key, value]
    command += ["--", sandbox_python(), "-I", "-S", "-B", SANDBOX_LAUNCHER, *config, "--"]
    return command + program


def unsandboxed_command(config: list[str], program: list[str]) -> list[str]:
    """The launcher on the host, for ``SAGE_SKILLS_ALLOW_UNSANDBOXED``: limits, no isolation."""
    return [host_python(), "-I", "-S", "-B", str(LAUNCHER), *config, "--", *program]


def data_fd(data: bytes, name: str) -> int:
    """A memory file holding ``data``, at its start: what ``--ro-bind-data`` and
    ``--seccomp`` read (no file on disk to clean up, nothing a script could reach)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sandbox_python() -> str:
    """The interpreter path as seen inside the sandbox."""
    _, relative = base_python()
    return f"{SANDBOX_PYTHON_ROOT}/{relative}"


def host_python() -> str:
    """The base interpreter on the host, for the unsandboxed mode."""
    prefix, relative = base_python()
    return str(prefix / relative)
