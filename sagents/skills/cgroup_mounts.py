"""Where the cgroup hierarchies are: the mounts in ``/proc/<pid>/mountinfo``
and this process's own cgroups in ``/proc/self/cgroup``.

Parsed from text rather than read here, so the probe (``cgroup_probe.py``)
can be tested against a folder laid out like a cgroup mount.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


def inside(mount: Mount, cgroup_path: str) -> Path | None:
    """Where ``cgroup_path`` is on the filesystem under ``mount``, if it is visible there."""
    root = mount.root.rstrip("/")
    if cgroup_path != root and not cgroup_path.startswith(root + "/"):
        return None
    relative = cgroup_path[len(root) :].lstrip("/")
    return mount.mountpoint / relative if relative else mount.mountpoint
