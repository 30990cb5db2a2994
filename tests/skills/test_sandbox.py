"""The sandbox holds: each case is a real script run through run_skill_script.

These run real bubblewrap (installed by the project's setup); a failing
limit shows as an ``ok: false`` tool result, and the next call still works.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import pytest

from sagents.skills import SkillManager
from sagents.tools import ToolProxy
from tests.skills.conftest import tool_proxy, write_skill

SCRIPTS = {
    "net.py": """
        import socket
        for target in [("1.1.1.1", 53), ("127.0.0.1", 22)]:
            try:
                socket.create_connection(target, timeout=2)
                print("CONNECTED", target)
            except OSError as error:
                print("blocked", type(error).__name__)
    """,
    "write.py": """
        import json, os, sys
        results = {}
        for path in sys.argv[1:]:
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                results[path] = "written"
            except OSError as error:
                results[path] = type(error).__name__
        print(json.dumps(results))
    """,
    "env.py": """
        import json, os
        print(json.dumps(dict(os.environ)))
    """,
    "loop.py": """
        while True:
            pass
    """,
    "hog.py": """
        blocks = []
        while True:
            blocks.append(bytearray(50 * 1024 * 1024))
    """,
    "forkbomb.py": """
        import os, time
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
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
    "sleep.py": """
        import sys, time
        open("started-" + sys.argv[1], "w").close()
        time.sleep(60)
    """,
    "chatty.py": """
        print("y" * 1_000_000)
    """,
    "hello.py": """
        import sys
        print("hello", *sys.argv[1:])
    """,
}


@pytest.fixture
async def tools(manager: SkillManager) -> ToolProxy:
    write_skill(manager.installation_dir, "probe", "Sandbox probes.", "Test scripts.", SCRIPTS)
    status = await manager.sandbox.probe()
    assert status.available, status.detail  # these tests are about the real sandbox
    return await tool_proxy(manager, "tester", "ses_sandbox")


async def run(tools: ToolProxy, script: str, *args: str) -> tuple[bool, str]:
    outcome = await tools.call(
        "run_skill_script",
        {"name": "probe", "script": script, "args": list(args)},
        timeout_s=60,
    )
    return outcome.ok, outcome.content


async def still_works(tools: ToolProxy) -> None:
    ok, content = await run(tools, "hello.py", "again")
    assert ok and json.loads(content)["stdout"] == "hello again\n"


async def test_network_is_unreachable(tools: ToolProxy) -> None:
    ok, content = await run(tools, "net.py")
    assert ok
    stdout = json.loads(content)["stdout"]
    assert "CONNECTED" not in stdout and stdout.count("blocked") == 2


async def test_writes_outside_the_workspace_fail(tools: ToolProxy, manager: SkillManager) -> None:
    home = str(Path.home() / f"sage-escape-{uuid.uuid4().hex}")
    data_dir_file = str(manager.settings.data_dir / "escape.txt")
    targets = ["../escape.txt", "/tmp/escape.txt", home, data_dir_file, "/usr/escape.txt"]
    targets += ["/escape.txt", "/dev/shm/escape.txt", "/skills/escape.txt", "/opt/escape.txt"]
    targets += ["/skills/probe/scripts/write.py"]  # the skill itself
    ok, content = await run(tools, "write.py", "inside.txt", *targets)
    assert ok
    results = json.loads(json.loads(content)["stdout"])
    assert results.pop("inside.txt") == "written"
    assert all(value != "written" for value in results.values()), results
    assert not _any_exists(home, data_dir_file, "/tmp/escape.txt")
    workspace = manager.workspace("ses_sandbox").root
    assert (workspace / "inside.txt").read_text() == "x"
    assert not (workspace.parent / "escape.txt").exists()


def _any_exists(*paths: str) -> bool:
    return any(Path(p).exists() for p in paths)


async def test_environment_is_clean(tools: ToolProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    # Secrets in the server's own environment must not reach the script.
    monkeypatch.setenv("SAGE_LLM_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    ok, content = await run(tools, "env.py")
    assert "should-not-leak" not in content
    assert ok
    env = json.loads(json.loads(content)["stdout"])
    assert not [k for k in env if k.startswith("SAGE_") or "KEY" in k or "TOKEN" in k], env
    assert set(env) <= {
        "PATH",
        "HOME",
        "PWD",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING",
    }


async def test_infinite_loop_is_stopped(tools: ToolProxy) -> None:
    ok, content = await run(tools, "loop.py")
    assert not ok and "ScriptFailed" in content
    assert "CPU time limit" in content or "wall time" in content
    await still_works(tools)


async def test_memory_hog_is_stopped(tools: ToolProxy) -> None:
    ok, content = await run(tools, "hog.py")
    assert not ok and "MemoryError" in content
    await still_works(tools)


async def test_fork_bomb_is_stopped(tools: ToolProxy) -> None:
    ok, content = await run(tools, "forkbomb.py")
    assert not ok
    assert "limit" in json.loads(content.removeprefix("ScriptFailed: "))["reason"]
    await still_works(tools)


async def test_process_count_is_limited(tools: ToolProxy, manager: SkillManager) -> None:
    """RLIMIT_NPROC really applies (Sage runs as root here: the sandbox's own uid)."""
    ok, content = await run(tools, "forkcount.py")
    assert ok
    children = int(json.loads(content)["stdout"])
    assert 0 < children < manager.settings.skill_max_procs


async def test_output_is_capped(tools: ToolProxy) -> None:
    ok, content = await run(tools, "chatty.py")
    assert not ok and "output limit" in content
    assert len(json.loads(content.removeprefix("ScriptFailed: "))["stdout"]) == 4096


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if token.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


async def test_cancelling_kills_the_script(tools: ToolProxy, manager: SkillManager) -> None:
    # The workspace is a tmpfs inside the sandbox (nothing shows on the host
    # before the call ends), so the script's own process is the sign it started.
    token = uuid.uuid4().hex
    task = asyncio.create_task(run(tools, "sleep.py", token))
    async with asyncio.timeout(15):
        while not _processes_with(token):  # noqa: ASYNC110 - another process starts
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _processes_with(token) == []
    await still_works(tools)


async def test_unknown_script_and_traversal_are_refused(tools: ToolProxy) -> None:
    for script in ("nope.py", "../SKILL.md", "/usr/bin/id"):
        ok, content = await run(tools, script)
        assert not ok and "has no script" in content
