"""Finding usable cgroups at start-up: v2 first, then v1, proven by making and
removing a test cgroup (see ``cgroups.py`` for what a run cgroup limits).

The parent is the server's own cgroup (``/proc/self/cgroup``) or
``SAGE_SKILL_CGROUP_PARENT``. On v2 the ``memory`` and ``pids`` controllers
(``cpu`` when present) are enabled below it; a v2 parent that holds
processes cannot do that (the "no internal processes" rule), which the
probe's answer says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sagents.skills.cgroup_mounts import Mount, inside, parse_mountinfo, parse_self_cgroup
from sagents.skills.cgroups import CgroupLimits, Cgroups, write_control

CgroupSetting = Literal["auto", "v2", "v1", "off"]
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V1_REQUIRED = frozenset({"memory", "pids"})
V2_REQUIRED = frozenset({"memory", "pids"})


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
    parent = inside(mount, path)
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
            write_control(
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
        parent = inside(mount, path)
        if parent is not None:  # whether it can be used is what the probe's test cgroup finds out
            parents[controller] = parent
    missing = V1_REQUIRED - set(parents)
    if missing:
        return f"no v1 hierarchy for {', '.join(sorted(missing))}"
    return Cgroups(1, parents)
