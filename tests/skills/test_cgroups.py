"""cgroups: finding the hierarchy, writing a run's limits, removing it.

v1 is exercised for real where the machine has it (Sage's CI does: a hybrid
layout with v1 memory/pids/cpu and a cgroup2 mount holding no controllers).
v2 cannot be exercised on such a machine; its selection and file writing
are tested against a temporary folder laid out like a cgroup2 mount, which
shows the logic, not that the kernel accepts it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sagents.skills import cgroup_probe, cgroups
from sagents.skills.cgroup_mounts import parse_mountinfo, parse_self_cgroup
from sagents.skills.cgroups import CgroupLimits
from sagents.skills.supervise import attached

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_SELF = """\
8:pids:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
"""
LIMITS = CgroupLimits(memory_bytes=256 * 1024 * 1024, pids=19, cpu_cores=1.5)


def test_parsing_a_hybrid_layout() -> None:
    mounts = parse_mountinfo(HYBRID_MOUNTINFO)
    assert [(m.fstype, str(m.mountpoint)) for m in mounts][-1] == (
        "cgroup2",
        "/sys/fs/cgroup/unified",
    )
    assert "memory" in mounts[2].options
    own = parse_self_cgroup(HYBRID_SELF)
    assert own == {"pids": "/", "memory": "/process_api/abc", "cpuacct": "/", "cpu": "/", "": "/"}
    found = cgroup_probe._find_v1(mounts, own, None)
    assert isinstance(found, cgroups.Cgroups)
    assert found.parents["memory"] == Path("/sys/fs/cgroup/memory/process_api/abc")
    assert found.parents["pids"] == Path("/sys/fs/cgroup/pids")


def v2_layout(tmp_path: Path, controllers: str, subtree: str = "") -> tuple[str, str]:
    """A folder standing for a cgroup2 mount, and the texts describing it."""
    mount = tmp_path / "cgroup2"
    own = mount / "sage.service"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text(subtree + "\n")
    mountinfo = f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw\n"
    return mountinfo, "0::/sage.service\n"


def test_v2_is_chosen_where_its_controllers_are_available(tmp_path: Path) -> None:
    mountinfo, own = v2_layout(tmp_path, "cpuset cpu io memory pids")
    found = cgroup_probe._find_v2(parse_mountinfo(mountinfo), parse_self_cgroup(own), None)
    assert isinstance(found, cgroups.Cgroups) and found.version == 2
    parent = tmp_path / "cgroup2" / "sage.service"
    assert set(found.parents) == {"memory", "pids", "cpu"}
    # The controllers are enabled for the children the runs will get.
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"

    run = found.create(LIMITS)
    folder = run.dirs["memory"]
    assert folder.parent == parent and folder.name.startswith(f"sage-run-{os.getpid()}-")
    assert (folder / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (folder / "pids.max").read_text() == "19"
    assert run.procs_files() == [folder / "cgroup.procs"]


def test_v2_limit_files() -> None:
    files = cgroups.v2_limit_files(LIMITS, frozenset({"memory.swap.max", "cpu.max"}))
    assert files == {
        "memory.max": str(256 * 1024 * 1024),
        "pids.max": "19",
        "memory.swap.max": "0",
        "cpu.max": "150000 100000",
    }


def test_v2_is_refused_without_its_controllers(tmp_path: Path) -> None:
    mountinfo, own = v2_layout(tmp_path, "hugetlb")  # what Sage's CI machine shows
    found = cgroup_probe._find_v2(parse_mountinfo(mountinfo), parse_self_cgroup(own), None)
    assert found == f"controllers memory, pids not available in {tmp_path / 'cgroup2/sage.service'}"
    result = cgroup_probe.probe("v2", mountinfo=mountinfo, self_cgroup=own)
    assert result.cgroups is None and "v2: controllers memory, pids" in result.detail


def test_off_means_none() -> None:
    assert cgroup_probe.probe("off").cgroups is None


@pytest.fixture
def v1() -> cgroups.Cgroups:
    found = cgroup_probe.probe("v1").cgroups
    if found is None:
        pytest.skip("no writable cgroup v1 hierarchy here")
    return found


def test_a_real_v1_run_cgroup_limits_kills_and_is_removed(v1: cgroups.Cgroups) -> None:
    run = v1.create(LIMITS)
    memory, pids = run.dirs["memory"], run.dirs["pids"]
    assert (memory / "memory.limit_in_bytes").read_text().strip() == str(256 * 1024 * 1024)
    assert (pids / "pids.max").read_text().strip() == "19"
    if "cpu" in run.dirs:
        assert (run.dirs["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "150000"
    # A process attached before it could fork: it and its child are in the cgroup.
    proc = subprocess.Popen(
        attached(["/bin/sh", "-c", "sleep 60 & sleep 60"], run), start_new_session=True
    )
    try:
        for _ in range(200):
            if len(run.pids()) >= 2:
                break
            subprocess.run(["sleep", "0.02"], check=True)
        assert len(run.pids()) >= 2
        assert run.remove(timeout_s=5.0)
        assert proc.wait(timeout=5) != 0  # killed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not memory.exists() and not pids.exists()


def test_cgroups_left_by_a_dead_server_are_swept(v1: cgroups.Cgroups) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [parent / f"sage-run-{dead.pid}-leftover" for parent in set(v1.parents.values())]
    for folder in stale:
        folder.mkdir()
    mine = v1.create(LIMITS)  # a live server's cgroup is left alone
    try:
        assert v1.sweep() == len(stale)
        assert not any(folder.exists() for folder in stale)
        assert all(folder.exists() for folder in mine.dirs.values())
    finally:
        assert mine.remove()
