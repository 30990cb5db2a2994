"""Hostile scripts: each test is an attack a skill script makes, through the
real ``run_skill_script`` tool and real bubblewrap, and what must hold.

The first three are the attacks from the hardening report (a symlink swapped
in between two calls, memory held through many processes, a disk filled);
the rest probe the same class: what the server does with what a script
leaves behind, and limits that must hold for the whole run.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sagents.skills import SkillManager
from sagents.tools import ToolProxy
from tests.skills.conftest import sandbox_settings, tool_proxy, write_skill

MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]

SCRIPTS = {
    "swap.py": """
        import os, shutil, sys
        # The attacker learned the host path (from /proc/self/mountinfo, or
        # just by guessing); replace what the server copies into with a link.
        shutil.rmtree("skills", ignore_errors=True)
        os.symlink(sys.argv[1], "skills")
        print("swapped")
    """,
    "hello.py": """
        print("mallory's own skill")
    """,
    "memtree.py": """
        import os, sys, time
        count, mb = int(sys.argv[1]), int(sys.argv[2])
        children = []
        for _ in range(count):
            pid = os.fork()
            if pid == 0:
                block = bytearray(mb * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(3)
                os._exit(0)
            children.append(pid)
        held = sum(os.waitpid(pid, 0)[1] == 0 for pid in children)
        print(held, "of", count, "children held", mb, "MB")
    """,
    "fill.py": """
        written = 0
        try:
            while written < 200 * 1024 * 1024:
                with open(f"fill-{written // 1048576}.bin", "wb") as handle:
                    handle.write(b"x" * 1048576)
                written += 1048576
            print("wrote", written)
        except OSError as error:
            print("stopped after", written, type(error).__name__)
            raise
    """,
    "write.py": """
        import sys
        with open(sys.argv[1], "w") as handle:
            handle.write(sys.argv[2])
        print("wrote", sys.argv[1])
    """,
    "userns.py": """
        import ctypes, json, os, platform, subprocess
        CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
        libc = ctypes.CDLL(None, use_errno=True)
        def error():
            return os.strerror(ctypes.get_errno())
        found = {}
        found["unshare"] = "created" if libc.unshare(CLONE_NEWUSER) == 0 else error()
        number = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
        if number is not None:
            pid = libc.syscall(number, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
            if pid == 0:
                os._exit(0)
            if pid > 0:
                os.waitpid(pid, 0)
            found["clone"] = "created" if pid > 0 else error()
            found["clone3"] = "created" if libc.syscall(435, 0, 0) >= 0 else error()
        cli = subprocess.run(["unshare", "-Ur", "id", "-u"], capture_output=True, text=True)
        found["unshare -Ur"] = "created" if cli.returncode == 0 else cli.stderr.strip()
        print(json.dumps(found))
    """,
    "forkcount.py": """
        import os, time
        children = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(2)
                    os._exit(0)
                children += 1
            except OSError:
                break
        print(children)
    """,
    "spin.py": """
        import os
        for _ in range(4):
            if os.fork() == 0:
                while True:
                    pass
        for _ in range(4):
            os.wait()
        print("children ended")
    """,
    "links.py": """
        import os, sys
        for index, target in enumerate(sys.argv[1:]):
            os.symlink(target, f"link-{index}")
        os.mkdir("sub")
        os.symlink("/", "sub/root")
        os.mkfifo("pipe")
        import socket
        server = socket.socket(socket.AF_UNIX)
        server.bind("sock")
        with open("kept.txt", "w") as handle:
            handle.write("kept")
        print("planted")
    """,
    "hardlink.py": """
        import json, os, sys
        found = {}
        for index, source in enumerate(sys.argv[1:]):
            try:
                os.link(source, f"hard-{index}")
                found[source] = "linked"
            except OSError as error:
                found[source] = type(error).__name__
        print(json.dumps(found))
    """,
    "manyfiles.py": """
        import sys
        for index in range(int(sys.argv[1])):
            open(f"f{index}", "w").close()
        print("made", sys.argv[1])
    """,
    "mountinfo.py": """
        print(open("/proc/self/mountinfo").read())
        print(open("/proc/self/cgroup").read())
    """,
    "fds.py": """
        import os
        print(sorted(int(n) for n in os.listdir("/proc/self/fd")))
    """,
    "killall.py": """
        import os, signal
        with open("before-kill.txt", "w") as handle:
            handle.write("kept")
        os.kill(-1, signal.SIGKILL)  # every process this uid may signal (not itself)
        print("still here")
    """,
    "deep.py": """
        import os, sys
        for _ in range(int(sys.argv[1])):
            os.mkdir("d")
            os.chdir("d")
        with open("bottom.txt", "w") as handle:
            handle.write("deep")
        print("nested")
    """,
    "selfedit.py": """
        import os
        try:
            with open(__file__, "a") as handle:
                handle.write("# changed")
            print("changed my skill")
        except OSError as error:
            print("read-only", type(error).__name__)
        print(os.path.dirname(os.path.abspath(__file__)))
    """,
}


def make_manager(tmp_path: Path, **overrides: Any) -> SkillManager:
    return SkillManager(sandbox_settings(tmp_path / "data", **overrides))


async def proxy(manager: SkillManager, user: str, session: str) -> ToolProxy:
    write_skill(manager.user_dir(user), "victim", "Probe scripts.", "Test scripts.", SCRIPTS)
    status = await manager.sandbox.probe()
    assert status.available, status.detail
    return await tool_proxy(manager, user, session)


async def call(tools: ToolProxy, script: str, *args: str, name: str = "victim") -> dict[str, Any]:
    outcome = await tools.call(
        "run_skill_script", {"name": name, "script": script, "args": list(args)}, timeout_s=120
    )
    payload: dict[str, Any] = json.loads(outcome.content.removeprefix("ScriptFailed: "))
    payload["ok"] = outcome.ok
    return payload


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` without following links: file bytes, or a kind."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            key = str(path.relative_to(folder))
            if stat.S_ISREG(mode):
                found[key] = path.read_bytes()
            else:
                found[key] = "dir" if stat.S_ISDIR(mode) else f"mode {oct(mode)}"
    return found


def workspace_of(manager: SkillManager, session: str) -> Path:
    return manager.workspace(session).root


async def test_symlink_swap_between_two_calls_touches_no_other_users_skill(
    tmp_path: Path,
) -> None:
    manager = make_manager(tmp_path)
    bob_skills = manager.user_dir("bob")
    write_skill(bob_skills, "victim", "Bob's skill.", "Bob's.", {"tool.py": "print('bob')\n"})
    before = tree(bob_skills)
    mallory = await proxy(manager, "mallory", "ses_mallory")

    await call(mallory, "swap.py", str(bob_skills))
    second = await call(mallory, "hello.py")

    assert tree(bob_skills) == before  # nothing deleted, nothing rewritten
    assert second["ok"] and second["stdout"] == "mallory's own skill\n"
    bob_view = await manager.for_user("bob")
    assert (bob_view.skills["victim"].path / "scripts" / "tool.py").read_text() == "print('bob')\n"
    persisted = tree(workspace_of(manager, "ses_mallory"))
    assert not [k for k, v in persisted.items() if isinstance(v, str) and v != "dir"], persisted


async def test_memory_held_through_many_processes_is_bounded_for_the_whole_run(
    tmp_path: Path,
) -> None:
    manager = make_manager(tmp_path, skill_memory_mb=512, skill_wall_s=60.0, skill_cpu_s=30)
    tools = await proxy(manager, "tester", "ses_mem")
    payload = await call(tools, "memtree.py", "8", "300")
    assert not payload["ok"], payload
    assert payload["limit"] == "memory"
    assert "memory limit of 512 MB for the whole run" in payload["reason"]
    assert payload["stdout"] == ""  # the whole tree was stopped, the parent too
    if manager.sandbox.cgroups is None:
        pytest.skip("no cgroups here: memory is limited per process only")
    view = await manager.for_user("tester")
    result = await manager.workspace("ses_mem").run_script(
        view.skills["victim"], "memtree.py", ["8", "300"]
    )
    assert result.stats is not None and result.stats.oom_kills >= 1
    assert result.stats.memory_peak_bytes is not None
    assert result.stats.memory_peak_bytes <= 512 * MIB


async def test_filling_the_disk_stops_at_the_workspace_limit(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, skill_workspace_mb=20, skill_wall_s=30.0)
    tools = await proxy(manager, "tester", "ses_disk")
    payload = await call(tools, "fill.py")
    assert not payload["ok"], payload
    assert payload["limit"] == "workspace"
    written = int(payload["stdout"].split()[2])
    assert written <= 20 * MIB
    root = workspace_of(manager, "ses_disk")
    assert not any(name.startswith("fill-") for name in tree(root))  # the call's changes dropped
    # The workspace is usable afterwards, and the host disk never held the fill.
    after = await call(tools, "write.py", "note.txt", "still works")
    assert after["ok"] and (root / "note.txt").read_text() == "still works"
    used = sum(len(v) for v in tree(manager.settings.data_dir / "workspaces").values())
    assert used < MIB


async def test_nested_user_namespaces_cannot_be_made(tmp_path: Path) -> None:
    tools = await proxy(make_manager(tmp_path), "tester", "ses_userns")
    payload = await call(tools, "userns.py")
    assert payload["ok"], payload
    found = json.loads(payload["stdout"])
    assert found["unshare"] == "Operation not permitted"
    assert found.get("clone", "Operation not permitted") == "Operation not permitted"
    assert found.get("clone3", "Function not implemented") == "Function not implemented"
    assert found["unshare -Ur"] != "created"


async def test_a_fork_bomb_is_bounded_by_the_runs_cgroup(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_pids")
    payload = await call(tools, "forkcount.py")
    assert payload["ok"], payload
    assert 0 < int(payload["stdout"]) < manager.settings.skill_max_procs
    if manager.sandbox.cgroups is None:
        pytest.skip("no cgroups here: RLIMIT_NPROC is the bound")
    view = await manager.for_user("tester")
    result = await manager.workspace("ses_pids").run_script(
        view.skills["victim"], "forkcount.py", []
    )
    # RLIMIT_NPROC is only a backstop (twice the limit) with a cgroup: the
    # cgroup's pids.max is what refused the forks.
    assert result.stats is not None and result.stats.pids_limit_hits > 0
    assert int(result.stdout) < manager.settings.skill_max_procs


async def test_cpu_time_is_limited_for_the_whole_process_tree(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, skill_cpu_s=1, skill_wall_s=90.0)
    tools = await proxy(manager, "tester", "ses_cpu")
    if manager.sandbox.cgroups is None:
        pytest.skip("no cgroups here: CPU time is limited per process only")
    payload = await call(tools, "spin.py")
    assert not payload["ok"], payload
    assert payload["limit"] == "cpu" and "whole run" in payload["reason"]


async def test_links_fifos_and_sockets_left_behind_are_never_kept_or_followed(
    tmp_path: Path,
) -> None:
    manager = make_manager(tmp_path)
    bob_skills = manager.user_dir("bob")
    write_skill(bob_skills, "victim", "Bob's skill.", "Bob's.", {"tool.py": "print('bob')\n"})
    before = tree(bob_skills)
    tools = await proxy(manager, "mallory", "ses_links")
    targets = [str(bob_skills), str(manager.settings.data_dir), "/etc/passwd"]
    payload = await call(tools, "links.py", *targets)
    assert payload["ok"], payload
    assert "symlink" in payload["notes"][0] and "fifo" in payload["notes"][0]
    root = workspace_of(manager, "ses_links")
    kept = tree(root)
    assert kept == {"kept.txt": b"kept", "sub": "dir"}  # regular files and folders only
    again = await call(tools, "hello.py")  # the next call starts from it, and does not hang
    assert again["ok"]
    await manager.workspace("ses_links").delete()
    assert not root.exists()
    assert tree(bob_skills) == before
    assert manager.settings.data_dir.is_dir()


async def test_hard_links_to_host_files_cannot_be_made_or_kept(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_hard")
    sources = ["/etc/passwd", "/usr/bin/env", "/opt/python/bin/python3"]
    payload = await call(tools, "hardlink.py", *sources)
    found = json.loads(payload["stdout"])
    assert "linked" not in found.values(), found
    for path in workspace_of(manager, "ses_hard").rglob("*"):
        assert path.lstat().st_nlink == 1 or path.is_dir()


async def test_more_files_than_the_limit_are_not_kept(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, skill_workspace_max_files=200)
    tools = await proxy(manager, "tester", "ses_many")
    await call(tools, "write.py", "before.txt", "x")
    payload = await call(tools, "manyfiles.py", "1000")
    assert not payload["ok"], payload
    assert "200" in payload["reason"] and "not saved" in payload["reason"]
    assert tree(workspace_of(manager, "ses_many")) == {"before.txt": b"x"}
    assert (await call(tools, "write.py", "after.txt", "y"))["ok"]


async def test_the_sandbox_does_not_show_host_paths(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_paths")
    payload = await call(tools, "mountinfo.py")
    assert payload["ok"], payload
    seen = payload["stdout"]
    assert "/workspace" in seen
    assert str(manager.settings.data_dir) not in seen
    assert str(tmp_path) not in seen
    assert str(REPO) not in seen


async def test_a_script_cannot_change_its_own_skill(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_self")
    payload = await call(tools, "selfedit.py")
    assert payload["ok"], payload
    first, folder = payload["stdout"].splitlines()
    assert first == "read-only PermissionError"
    assert not folder.startswith("/workspace")  # the skill is not inside the writable place
    installed = manager.user_dir("tester") / "victim" / "scripts" / "selfedit.py"
    assert installed.read_text() == textwrap.dedent(SCRIPTS["selfedit.py"])


async def test_eight_concurrent_calls_on_one_skill_all_succeed(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, skill_wall_s=60.0)
    tools = await proxy(manager, "tester", "ses_parallel")
    results = await asyncio.gather(
        *(call(tools, "write.py", f"out-{n}.txt", str(n)) for n in range(8))
    )
    assert [r["ok"] for r in results] == [True] * 8, results
    kept = tree(workspace_of(manager, "ses_parallel"))
    assert kept == {f"out-{n}.txt": str(n).encode() for n in range(8)}


async def test_the_script_inherits_no_descriptor_but_its_standard_streams(tmp_path: Path) -> None:
    tools = await proxy(make_manager(tmp_path), "tester", "ses_fds")
    payload = await call(tools, "fds.py")
    assert payload["ok"], payload
    assert set(json.loads(payload["stdout"])) <= {0, 1, 2, 3}  # 3: the listing itself


async def test_a_script_killing_everything_it_can_does_not_stop_the_save(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_killall")
    payload = await call(tools, "killall.py")
    assert payload["ok"] and payload["stdout"] == "still here\n", payload
    root = workspace_of(manager, "ses_killall")
    assert (root / "before-kill.txt").read_text() == "kept"  # the launcher survived


async def test_deep_nesting_is_cut_and_the_workspace_stays_deletable(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    tools = await proxy(manager, "tester", "ses_deep")
    root = workspace_of(manager, "ses_deep")
    try:
        payload = await call(tools, "deep.py", "2000")
        assert payload["ok"], payload
        assert "too-deep" in payload["notes"][0]
        depth = max(len(p.relative_to(root).parts) for p in root.rglob("*"))
        assert depth == 64
        assert (await call(tools, "hello.py"))["ok"]
        await manager.workspace("ses_deep").delete()
        assert not root.exists()
    finally:
        # Never leave a deep tree behind: pytest's own clean-up of old temporary
        # folders (shutil.rmtree) would fail on it with RecursionError.
        rm = await asyncio.create_subprocess_exec("rm", "-rf", str(manager.settings.data_dir))
        assert await rm.wait() == 0
