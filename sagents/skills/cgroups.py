"""Limits on a run's whole process tree: one cgroup per script call.

Per-process limits (``RLIMIT_AS``, ``RLIMIT_CPU``) do not add up: eight
processes under a 512 MB ``RLIMIT_AS`` hold 4 GB. A cgroup holds every
process of the call, so its memory (including the workspace tmpfs, which is
charged to it), its number of processes and its CPU are bounded together.

Two drivers, chosen at start-up by probing (``cgroup_probe.py``):

- **v2** (the target): the unified hierarchy with the ``memory`` and
  ``pids`` controllers (``cpu`` when present) enabled below the parent.
  Limits: ``memory.max``, ``memory.swap.max`` 0, ``pids.max``, ``cpu.max``;
  stop with ``cgroup.kill``.
- **v1** (the fallback, what hybrid machines such as Sage's CI have): one
  folder per hierarchy (``memory``, ``pids``, ``cpu``, ``cpuacct``).
  Limits: ``memory.limit_in_bytes`` (and ``memsw`` when swap is accounted),
  ``pids.max``, ``cpu.cfs_quota_us``; stop with a kill loop over
  ``cgroup.procs`` (the pid limit bounds how long it can take).

The parent is the server's own cgroup (``/proc/self/cgroup``), so runs stay
inside whatever limits the operator gave Sage, or ``SAGE_SKILL_CGROUP_PARENT``.
A v2 parent that holds processes cannot enable controllers for children
(the "no internal processes" rule): run Sage in a delegated cgroup (systemd
``Delegate=yes``) and point the setting at an empty child of it.

Run cgroups are named ``sage-run-<server pid>-<random>`` and removed after
the run (after killing what is left). Ones a crashed server left behind are
removed at the next start-up, when their server pid is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RUN_PREFIX = "sage-run-"
CPU_PERIOD_US = 100_000


@dataclass(frozen=True, slots=True)
class CgroupLimits:
    memory_bytes: int
    pids: int
    cpu_cores: float | None


@dataclass(frozen=True, slots=True)
class CgroupStats:
    memory_peak_bytes: int | None
    oom_kills: int
    pids_limit_hits: int
    cpu_s: float | None


def write_control(path: Path, value: str) -> None:
    with open(path, "w") as handle:  # one write(2) per value, as cgroupfs wants
        handle.write(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_key(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def v2_limit_files(limits: CgroupLimits, available: frozenset[str]) -> dict[str, str]:
    """The files a v2 run cgroup gets, and their content."""
    files = {"memory.max": str(limits.memory_bytes), "pids.max": str(limits.pids)}
    if "memory.swap.max" in available:
        files["memory.swap.max"] = "0"
    if limits.cpu_cores is not None and "cpu.max" in available:
        files["cpu.max"] = f"{int(limits.cpu_cores * CPU_PERIOD_US)} {CPU_PERIOD_US}"
    return files


def v1_limit_files(
    limits: CgroupLimits, controller: str, available: frozenset[str]
) -> dict[str, str]:
    """The files a v1 run cgroup gets in one controller's hierarchy (order matters)."""
    if controller == "memory":
        files = {"memory.limit_in_bytes": str(limits.memory_bytes)}
        if "memory.memsw.limit_in_bytes" in available:  # swap accounted: no swap either
            files["memory.memsw.limit_in_bytes"] = str(limits.memory_bytes)
        return files
    if controller == "pids":
        return {"pids.max": str(limits.pids)}
    if controller == "cpu" and limits.cpu_cores is not None:
        return {
            "cpu.cfs_period_us": str(CPU_PERIOD_US),
            "cpu.cfs_quota_us": str(int(limits.cpu_cores * CPU_PERIOD_US)),
        }
    return {}


@dataclass
class RunCgroup:
    """The cgroup of one run (v2: one folder; v1: one per hierarchy)."""

    version: int
    dirs: dict[str, Path]
    """Controller → folder (v2: every controller → the same folder)."""

    def procs_files(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in dict.fromkeys(self.dirs.values())]

    def cpu_usage_s(self) -> float | None:
        if self.version == 2:
            usec = _read_key(self.dirs["memory"] / "cpu.stat", "usage_usec")
            return usec / 1e6
        if "cpuacct" in self.dirs:
            nsec = _read_int(self.dirs["cpuacct"] / "cpuacct.usage")
            return None if nsec is None else nsec / 1e9
        return None

    def oom_kills(self) -> int:
        """Processes the kernel killed for the memory limit so far."""
        memory = self.dirs["memory"]
        if self.version == 2:
            return _read_key(memory / "memory.events", "oom_kill")
        return _read_key(memory / "memory.oom_control", "oom_kill")

    def stats(self) -> CgroupStats:
        memory, pids = self.dirs["memory"], self.dirs["pids"]
        peak_file = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return CgroupStats(
            _read_int(memory / peak_file),
            self.oom_kills(),
            _read_key(pids / "pids.events", "max"),
            self.cpu_usage_s(),
        )

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            with contextlib.suppress(OSError):
                found.update(int(p) for p in procs.read_text().split())
        return found

    def kill(self, timeout_s: float = 5.0) -> bool:
        """SIGKILL every process in it until none is left; False if some remain."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                write_control(self.dirs["memory"] / "cgroup.kill", "1")
        deadline = time.monotonic() + timeout_s
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def remove(self, timeout_s: float = 5.0) -> bool:
        """Kill what is left and remove the folders; False if one could not be removed."""
        self.kill(timeout_s)
        deadline = time.monotonic() + timeout_s
        left = list(dict.fromkeys(self.dirs.values()))
        while left:
            for folder in list(left):
                try:
                    folder.rmdir()
                    left.remove(folder)
                except FileNotFoundError:
                    left.remove(folder)
                except OSError:
                    pass  # busy: the last processes are still exiting
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return not left


@dataclass
class Cgroups:
    """The probed hierarchy: where run cgroups go and how they are limited."""

    version: int
    parents: dict[str, Path]
    """Controller → parent folder of run cgroups."""
    leftovers: list[RunCgroup] = field(default_factory=list)
    """Run cgroups that could not be removed yet (still busy); retried after each run."""

    def describe(self) -> str:
        where = ", ".join(sorted({str(p) for p in self.parents.values()}))
        controllers = ", ".join(sorted(self.parents))
        return f"cgroup v{self.version} ({controllers}) under {where}"

    def create(self, limits: CgroupLimits) -> RunCgroup:
        """A new run cgroup with ``limits`` written (blocking; call in a thread)."""
        name = f"{RUN_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        made: dict[Path, Path] = {}
        run = RunCgroup(self.version, {})
        try:
            for controller, parent in self.parents.items():
                folder = made.get(parent)
                if folder is None:
                    folder = parent / name
                    folder.mkdir(mode=0o755)
                    made[parent] = folder
                run.dirs[controller] = folder
            for controller, folder in run.dirs.items():
                available = frozenset(os.listdir(folder))
                if self.version == 2:
                    files = v2_limit_files(limits, available) if controller == "memory" else {}
                else:
                    files = v1_limit_files(limits, controller, available)
                for file, value in files.items():
                    write_control(folder / file, value)
        except BaseException:
            run.remove(timeout_s=1.0)
            raise
        return run

    def sweep(self) -> int:
        """Remove run cgroups whose server is gone (a crash); how many were removed."""
        removed = 0
        for parent in set(self.parents.values()):
            with contextlib.suppress(OSError):
                for entry in os.listdir(parent):
                    owner = _owner_pid(entry)
                    if owner is None or owner == os.getpid() or process_alive(owner):
                        continue
                    stale = RunCgroup(
                        self.version, {"memory": parent / entry, "pids": parent / entry}
                    )
                    removed += stale.remove(timeout_s=1.0)
        return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(RUN_PREFIX):
        return None
    number = name[len(RUN_PREFIX) :].split("-", 1)[0]
    return int(number) if number.isdigit() else None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
