"""How a call ends, in each mode: stopped at a limit (what it wrote before
is kept), cancelled (nothing left running, no cgroup left behind), and
without bubblewrap (refused, or run unsandboxed with the limits and the
process-group kill when the operator opted in)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from sagents.skills import Sandbox, SandboxLimits, SkillManager
from sagents.skills.cgroups import RUN_PREFIX
from tests.skills.conftest import sandbox_settings, tool_proxy, write_skill

SCRIPTS = {
    "slow.py": """
        import sys, time
        with open("before.txt", "w") as handle:
            handle.write("written before the limit")
        time.sleep(float(sys.argv[1]))
    """,
    "orphan.py": """
        import os, sys, time
        # A child that outlives its parent, in the parent's process group.
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 30; echo late > late.txt", sys.argv[1]])
        print("parent done")
    """,
    "hello.py": """
        print("hello")
    """,
    "tree.py": """
        import os, sys, time
        # A child in the script's process group, then both wait a long time.
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 600", sys.argv[1]])
        print("started", flush=True)
        time.sleep(600)
    """,
}


def manager_with(tmp_path: Path, sandbox: Sandbox | None = None, **overrides: Any) -> SkillManager:
    manager = SkillManager(sandbox_settings(tmp_path / "data", **overrides), sandbox=sandbox)
    write_skill(manager.installation_dir, "probe", "Probes.", "Test scripts.", SCRIPTS)
    return manager


async def call(manager: SkillManager, session: str, script: str, *args: str) -> dict[str, Any]:
    tools = await tool_proxy(manager, "tester", session)
    outcome = await tools.call(
        "run_skill_script", {"name": "probe", "script": script, "args": list(args)}, timeout_s=120
    )
    payload: dict[str, Any] = json.loads(outcome.content.removeprefix("ScriptFailed: "))
    payload["ok"] = outcome.ok
    return payload


def run_cgroups(manager: SkillManager) -> set[str]:
    """This process's run cgroups (other tests in it may have made some)."""
    found = manager.sandbox.cgroups
    if found is None:
        return set()
    mine = f"{RUN_PREFIX}{os.getpid()}-"
    return {
        entry
        for parent in set(found.parents.values())
        for entry in os.listdir(parent)
        if entry.startswith(mine)
    }


async def new_run_cgroups(manager: SkillManager, before: set[str]) -> set[str]:
    """Run cgroups made since ``before`` and left after the manager closed."""
    await manager.aclose()
    return run_cgroups(manager) - before


def processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if token.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


async def test_a_call_stopped_at_the_wall_time_keeps_what_it_wrote(tmp_path: Path) -> None:
    manager = manager_with(tmp_path, skill_wall_s=2.0)
    await manager.sandbox.probe()
    before = run_cgroups(manager)
    payload = await call(manager, "ses_wall", "slow.py", "60")
    assert not payload["ok"] and payload["limit"] == "wall"
    root = manager.workspace("ses_wall").root
    assert (root / "before.txt").read_text() == "written before the limit"
    assert await new_run_cgroups(manager, before) == set()


async def test_a_cancelled_call_leaves_no_process_and_no_cgroup(tmp_path: Path) -> None:
    manager = manager_with(tmp_path)
    assert (await manager.sandbox.probe()).available
    before = run_cgroups(manager)
    token = uuid.uuid4().hex
    task = asyncio.create_task(call(manager, "ses_cancel", "slow.py", "60", token))
    async with asyncio.timeout(20):
        while not processes_with(token):  # noqa: ASYNC110 - another process starts
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processes_with(token) == []
    assert await new_run_cgroups(manager, before) == set()
    # A cancelled call keeps nothing: its workspace was never saved.
    assert not (manager.workspace("ses_cancel").root / "before.txt").exists()


async def test_without_bubblewrap_scripts_are_refused(tmp_path: Path) -> None:
    manager = manager_with(tmp_path, sandbox=Sandbox(SandboxLimits(), bwrap=""))
    tools = await tool_proxy(manager, "tester", "ses_refused")
    arguments = {"name": "probe", "script": "hello.py"}
    outcome = await tools.call("run_skill_script", arguments, timeout_s=30)
    assert not outcome.ok
    assert "skill scripts are disabled" in outcome.content
    assert "SAGE_SKILLS_ALLOW_UNSANDBOXED" in outcome.content


@pytest.mark.parametrize("cgroups", ["off", "auto"])
async def test_unsandboxed_mode_runs_with_limits_and_kills_the_whole_group(
    tmp_path: Path, cgroups: str, caplog: pytest.LogCaptureFixture
) -> None:
    limits = SandboxLimits(cpu_s=2, wall_s=10.0, memory_bytes=256 * 1024 * 1024, max_procs=16)
    sandbox = Sandbox(limits, allow_unsandboxed=True, bwrap="", cgroups=cgroups)  # type: ignore[arg-type]
    manager = manager_with(tmp_path, sandbox=sandbox)
    await sandbox.probe()
    before = run_cgroups(manager)
    token = uuid.uuid4().hex
    payload = await call(manager, "ses_unsafe", "orphan.py", token)
    assert payload["ok"] and payload["stdout"] == "parent done\n"
    assert "WITHOUT a sandbox" in caplog.text
    assert processes_with(token) == []  # the orphan went with its group
    await asyncio.sleep(0.5)
    assert not (manager.workspace("ses_unsafe").root / "late.txt").exists()
    assert await new_run_cgroups(manager, before) == set()


STOP_BOUND_S = 30.0
"""How soon a cancelled or killed call must be over: far below the 600 s
its script would run if nothing killed it."""


@pytest.mark.parametrize("cgroups", ["off", "auto"])
async def test_unsandboxed_a_cancelled_call_kills_the_script_and_its_children(
    tmp_path: Path, cgroups: str
) -> None:
    """Unsandboxed, the script runs in its own session (the launcher kills it
    there without killing itself). A call cancelled while it runs kills the
    launcher outright, and must reach that session too: without cgroups
    nothing else would, and the script would run on with no one to stop it
    (and the call would wait for its output pipes to close)."""
    limits = SandboxLimits(cpu_s=60, wall_s=600.0, max_procs=16)
    sandbox = Sandbox(limits, allow_unsandboxed=True, bwrap="", cgroups=cgroups)  # type: ignore[arg-type]
    manager = manager_with(tmp_path, sandbox=sandbox)
    await sandbox.probe()
    before = run_cgroups(manager)
    token = uuid.uuid4().hex
    task = asyncio.create_task(call(manager, "ses_unsafe_cancel", "tree.py", token))
    # The launcher's command line names the token too; the script's child
    # is there once the script runs.
    async with asyncio.timeout(20):
        while not processes_with(f"sleep 600\0{token}"):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.02)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=STOP_BOUND_S)
    assert task in done and task.cancelled()
    assert processes_with(token) == []
    assert await new_run_cgroups(manager, before) == set()


SERVER = """
import asyncio, os, sys
from pathlib import Path
from sagents.skills import Sandbox, SandboxLimits

async def main(folder, token):
    sandbox = Sandbox(SandboxLimits(wall_s=120.0, cpu_s=60))
    skill = Path(folder) / "skill"
    await sandbox.run(Path(folder) / "workspaces" / "ses_1", skill, "probe",
                      ["python", "scripts/slow.py", "120", token])

asyncio.run(main(sys.argv[1], os.environ["SCRIPT_TOKEN"]))
"""


async def test_a_server_killed_mid_call_leaves_no_script_and_its_cgroup_is_swept(
    tmp_path: Path,
) -> None:
    write_skill(tmp_path, "skill", "Probes.", "Test scripts.", SCRIPTS)
    token = uuid.uuid4().hex
    # The token reaches the script's command line, not the server's.
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, str(tmp_path), env={**os.environ, "SCRIPT_TOKEN": token}
    )
    try:
        async with asyncio.timeout(30):
            while not processes_with(token):  # noqa: ASYNC110 - another process starts
                await asyncio.sleep(0.05)
        server.kill()  # kill -9: no clean-up code of the server runs
        await server.wait()
        async with asyncio.timeout(10):  # the launcher sees its control pipe close
            while processes_with(token):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    # The dead server's run cgroup is removed by the next server's probe.
    sandbox = Sandbox(SandboxLimits())
    assert (await sandbox.probe()).available
    if sandbox.cgroups is not None:
        dead = f"{RUN_PREFIX}{server.pid}-"
        for parent in set(sandbox.cgroups.parents.values()):
            assert not [e for e in os.listdir(parent) if e.startswith(dead)]
