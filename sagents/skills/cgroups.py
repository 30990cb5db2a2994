"""Limits on a run's whole process tree: one cgroup per script call.

Per-process limits (``RLIMIT_AS``, ``RLIMIT_CPU``) do not add up: eight
processes under a 512 MB ``RLIMIT_AS`` hold 4 GB. A cgroup holds every
process of the call, so its memory (including the workspace tmpfs, which is
charged to it), its number of processes and its CPU are bounded together.

Two drivers, chosen at start-up by probing (``probe``):

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
from typing import Literal

CgroupSetting = Literal["auto", "v2", "v1", "off"]
RUN_PREFIX = "sage-run-"
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V1_REQUIRED = frozenset({"memory", "pids"})
V2_REQUIRED = frozenset({"memory", "pids"})
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


@dataclass(frozen=True, slots=True)
class Mount:
    root: str
    mountpoint: Path
    fstype: str
    options: frozenset[str]


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup mounts listed in a ``/proc/<pid>/mountinfo`` text."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] in ("cgroup", "cgroup2"):
            options = frozenset(tail[2].split(","))
            mounts.append(Mount(_unescape(fields[3]), Path(_unescape(fields[4])), tail[0], options))
    return mounts


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


def parse_self_cgroup(text: str) -> dict[str, str]:
    """Controller (``""``: the unified hierarchy) → cgroup path, from ``/proc/self/cgroup``."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            paths[""] = path
        for name in controllers.split(","):
            if name:
                paths[name] = path
    return paths


def _inside(mount: Mount, cgroup_path: str) -> Path | None:
    """Where ``cgroup_path`` is on the filesystem under ``mount``, if it is visible there."""
    root = mount.root.rstrip("/")
    if cgroup_path != root and not cgroup_path.startswith(root + "/"):
        return None
    relative = cgroup_path[len(root) :].lstrip("/")
    return mount.mountpoint / relative if relative else mount.mountpoint


def _write(path: Path, value: str) -> None:
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
                _write(self.dirs["memory"] / "cgroup.kill", "1")
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
                    _write(folder / file, value)
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


@dataclass(frozen=True, slots=True)
class ProbeResult:
    cgroups: Cgroups | None
    detail: str


def probe(
    setting: CgroupSetting,
    parent_path: str | None = None,
    *,
    mountinfo: str | None = None,
    self_cgroup: str | None = None,
) -> ProbeResult:
    """Find usable cgroups (v2 first) by creating and removing a test cgroup.

    ``mountinfo``/``self_cgroup`` default to this process's own files; tests
    pass texts describing a temporary folder laid out like a cgroup mount.
    """
    if setting == "off":
        return ProbeResult(None, "cgroups off (SAGE_SKILL_CGROUPS=off)")
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    if self_cgroup is None:
        self_cgroup = Path("/proc/self/cgroup").read_text()
    mounts, own = parse_mountinfo(mountinfo), parse_self_cgroup(self_cgroup)
    reasons = []
    for version in (2, 1):
        if setting not in ("auto", f"v{version}"):
            continue
        found = (
            _find_v2(mounts, own, parent_path)
            if version == 2
            else _find_v1(mounts, own, parent_path)
        )
        if isinstance(found, str):
            reasons.append(f"v{version}: {found}")
            continue
        try:
            _try(found)
        except OSError as error:
            reasons.append(f"v{version}: a test cgroup could not be made ({error})")
            continue
        found.sweep()
        return ProbeResult(found, found.describe())
    return ProbeResult(None, "no usable cgroups (" + "; ".join(reasons) + ")")


def _try(cgroups: Cgroups) -> None:
    run = cgroups.create(CgroupLimits(64 * 1024 * 1024, 8, 1.0))
    if not run.remove(timeout_s=2.0):
        raise OSError("the test cgroup could not be removed")


def _find_v2(mounts: list[Mount], own: dict[str, str], parent_path: str | None) -> Cgroups | str:
    mount = next((m for m in mounts if m.fstype == "cgroup2"), None)
    if mount is None:
        return "no cgroup2 mount"
    path = parent_path if parent_path is not None else own.get("")
    if path is None:
        return "this process is in no v2 cgroup"
    parent = _inside(mount, path)
    if parent is None:
        return f"cgroup {path} is not visible under {mount.mountpoint}"
    try:
        controllers = set((parent / "cgroup.controllers").read_text().split())
    except OSError as error:
        return f"cannot read {parent / 'cgroup.controllers'}: {error}"
    missing = V2_REQUIRED - controllers
    if missing:
        return f"controllers {', '.join(sorted(missing))} not available in {parent}"
    wanted = V2_REQUIRED | ({"cpu"} & controllers)
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    if not wanted <= enabled:
        try:
            _write(
                parent / "cgroup.subtree_control",
                " ".join(f"+{c}" for c in sorted(wanted - enabled)),
            )
        except OSError as error:
            return (
                f"cannot enable {', '.join(sorted(wanted - enabled))} below {parent} ({error}); "
                "set SAGE_SKILL_CGROUP_PARENT to an empty delegated cgroup"
            )
    return Cgroups(2, {controller: parent for controller in wanted})


def _find_v1(mounts: list[Mount], own: dict[str, str], parent_path: str | None) -> Cgroups | str:
    parents: dict[str, Path] = {}
    for controller in V1_CONTROLLERS:
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        path = parent_path if parent_path is not None else own.get(controller)
        if mount is None or path is None:
            continue
        parent = _inside(mount, path)
        if parent is not None:  # whether it can be used is what the probe's test cgroup finds out
            parents[controller] = parent
    missing = V1_REQUIRED - set(parents)
    if missing:
        return f"no v1 hierarchy for {', '.join(sorted(missing))}"
    return Cgroups(1, parents)
