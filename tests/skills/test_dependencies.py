"""Skill requirements: installed at install time from a wheel the test builds
(no network: ``--no-index --find-links``), importable by the skill's scripts in
the real sandbox, read-only there; a failed install refuses the skill with
pip's reason."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from sagents.skills import Sandbox, SandboxLimits, SkillManager
from sagents.skills.environments import SkillEnvironments
from tests.skills.archives import make_zip
from tests.skills.conftest import sandbox_settings, tool_proxy, write_skill
from tests.skills.wheels import build_wheel

USE_PY = """\
import json, os, sys
import sage_tiny_dep
from scripts import helper
import helper as sibling
result = {"value": sage_tiny_dep.VALUE, "helper": helper.X, "sibling": sibling.X,
          "executable": sys.executable, "path": sys.path}
try:
    with open(os.path.join(os.path.dirname(sage_tiny_dep.__file__), "planted.py"), "w") as f:
        f.write("x")
    result["write"] = "written"
except OSError as error:
    import errno
    result["write"] = errno.errorcode.get(error.errno or 0, str(error))
print(json.dumps(result))
"""


def skill_files(name: str, requirements: str | None, version: str = "1") -> dict[str, str]:
    files = {
        f"{name}/SKILL.md": f"---\nname: {name}\ndescription: Uses a package v{version}.\n---\n"
        "Run scripts/use.py.\n",
        f"{name}/scripts/use.py": USE_PY,
        f"{name}/scripts/helper.py": "X = 'from the skill'\n",
        f"{name}/scripts/use.sh": 'python3 -c "import sage_tiny_dep; print(sage_tiny_dep.VALUE)"\n',
    }
    if requirements is not None:
        files[f"{name}/requirements.txt"] = requirements
    return files


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    build_wheel(folder, "sage-tiny-dep", "1.0", {"sage_tiny_dep/__init__.py": "VALUE = 41 + 1\n"})
    build_wheel(
        folder,
        "sage-big-dep",
        "1.0",
        {"sage_big_dep/__init__.py": "", "sage_big_dep/blob.py": "#" + "x" * 3_000_000},
    )
    blobs = {f"sage_many_dep/blob{i}.py": "#" + "x" * 400_000 for i in range(4)}
    build_wheel(folder, "sage-many-dep", "1.0", {"sage_many_dep/__init__.py": "", **blobs})
    return folder


def make_manager(tmp_path: Path, wheels: Path, **overrides: Any) -> SkillManager:
    overrides.setdefault("skill_deps_find_links", [str(wheels)])
    settings = sandbox_settings(tmp_path / "data", **overrides)
    return SkillManager(settings)


async def run_use(manager: SkillManager, user: str, name: str) -> tuple[bool, dict[str, Any]]:
    tools = await tool_proxy(manager, user, "ses_deps")
    outcome = await tools.call("run_skill_script", {"name": name, "script": "use.py"}, timeout_s=60)
    payload = json.loads(outcome.content)
    return outcome.ok, payload


def staging_leftovers(manager: SkillManager) -> list[Path]:
    staging = manager.environments.root / ".staging"
    return list(staging.iterdir()) if staging.exists() else []


async def test_a_requirement_from_a_local_wheel_is_installed_and_imported(
    tmp_path: Path, wheels: Path
) -> None:
    manager = make_manager(tmp_path, wheels)
    archive = make_zip(skill_files("uses-dep", "sage-tiny-dep==1.0  # from the test's wheel\n"))
    [result] = await manager.install("ann", archive, "s.zip")
    assert result.ok, result.problems
    skill = (await manager.for_user("ann")).get("uses-dep")
    assert skill is not None and skill.usable
    assert skill.requirements == ("sage-tiny-dep==1.0",)
    assert skill.environment is not None and skill.environment.status == "ready"
    site = skill.environment.path
    assert site is not None and (site / "sage_tiny_dep" / "__init__.py").is_file()

    # Writable by anyone on the host (as it is by the script's own uid when
    # Sage does not run as root): only the read-only mount protects it.
    os.chmod(site / "sage_tiny_dep", 0o777)
    ok, out = await run_use(manager, "ann", "uses-dep")
    assert ok, out
    result_line = json.loads(out["stdout"])
    assert result_line["value"] == 42
    assert result_line["helper"] == result_line["sibling"] == "from the skill"
    # The requirements are mounted read-only: a script cannot plant code there.
    assert result_line["write"] == "EROFS"
    assert not (site / "sage_tiny_dep" / "planted.py").exists()
    # The base interpreter's own site-packages is not on the path.
    assert not [p for p in result_line["path"] if p.startswith("/opt/python/") and "site-" in p]
    assert result_line["executable"] == "/opt/venv/bin/python"
    # A shell script's python3 is the skill's Python too.
    tools = await tool_proxy(manager, "ann", "ses_deps")
    arguments = {"name": "uses-dep", "script": "use.sh"}
    shell = await tools.call("run_skill_script", arguments, timeout_s=60)
    assert shell.ok and json.loads(shell.content)["stdout"] == "42\n"
    assert staging_leftovers(manager) == []


async def test_a_failing_install_gives_pips_reason_and_installs_nothing(
    tmp_path: Path, wheels: Path
) -> None:
    manager = make_manager(tmp_path, wheels)
    archive = make_zip(skill_files("wants-missing", "sage-no-such-package>=1\n"))
    [result] = await manager.install("bo", archive, "s.zip")
    assert not result.ok and result.skill is None
    problem = result.problems[0]
    assert problem.file == "requirements.txt" and problem.is_error
    assert "could not be installed" in problem.message
    assert "No matching distribution found for sage-no-such-package" in problem.message
    assert not (manager.user_dir("bo") / "wants-missing").exists()
    assert "wants-missing" not in await manager.for_user("bo")
    assert staging_leftovers(manager) == []
    envs = manager.environments.root
    assert not envs.exists() or [p.name for p in envs.iterdir()] == [".staging"]


async def test_a_broken_new_version_leaves_the_working_one(tmp_path: Path, wheels: Path) -> None:
    manager = make_manager(tmp_path, wheels)
    [first] = await manager.install(
        "cy", make_zip(skill_files("pdfish", "sage-tiny-dep\n")), "a.zip"
    )
    assert first.ok
    broken = make_zip(skill_files("pdfish", "sage-tiny-dep\nsage-nothing-here\n", version="2"))
    [second] = await manager.install("cy", broken, "b.zip")
    assert not second.ok
    skill = (await manager.for_user("cy")).get("pdfish")
    assert skill is not None and skill.usable and skill.description == "Uses a package v1."
    ok, out = await run_use(manager, "cy", "pdfish")
    assert ok and json.loads(out["stdout"])["value"] == 42


async def test_identical_requirements_share_one_folder(tmp_path: Path, wheels: Path) -> None:
    manager = make_manager(tmp_path, wheels)
    for user in ("dee", "eve"):
        [result] = await manager.install(
            user, make_zip(skill_files("same", "sage-tiny-dep\n")), "x.zip"
        )
        assert result.ok
    paths = set()
    for user in ("dee", "eve"):
        skill = (await manager.for_user(user)).get("same")
        assert skill is not None and skill.environment is not None
        paths.add(skill.environment.path)
    assert len(paths) == 1 and None not in paths
    folders = [p for p in manager.environments.root.iterdir() if p.name != ".staging"]
    assert len(folders) == 1


async def test_script_imports_its_own_package_without_requirements(
    tmp_path: Path, wheels: Path
) -> None:
    manager = make_manager(tmp_path, wheels)
    files = skill_files("plain", None)
    files["plain/scripts/use.py"] = (
        "import json, sys\nfrom scripts import helper\nimport helper as sibling\n"
        "print(json.dumps({'helper': helper.X, 'sibling': sibling.X, 'path': sys.path}))\n"
    )
    [result] = await manager.install("fay", make_zip(files), "p.zip")
    assert result.ok and result.skill is not None and result.skill.environment is None
    ok, out = await run_use(manager, "fay", "plain")
    assert ok, out
    printed = json.loads(out["stdout"])
    assert printed["helper"] == printed["sibling"] == "from the skill"
    assert "/skills/plain" in printed["path"]


async def test_the_caps_stop_pip(tmp_path: Path, wheels: Path) -> None:
    manager = make_manager(tmp_path, wheels, skill_deps_max_mb=1)
    [big] = await manager.install("gus", make_zip(skill_files("big", "sage-big-dep\n")), "b.zip")
    assert not big.ok
    assert "more than 1 MB (SAGE_SKILL_DEPS_MAX_MB)" in big.problems[0].message
    # Each file under the cap, all of them over it.
    [many] = await manager.install("gus", make_zip(skill_files("many", "sage-many-dep\n")), "m.zip")
    assert not many.ok
    assert "more than 1 MB (SAGE_SKILL_DEPS_MAX_MB)" in many.problems[0].message

    slow = make_manager(tmp_path / "other", wheels, skill_deps_timeout_s=0.05)
    [late] = await slow.install("gus", make_zip(skill_files("late", "sage-tiny-dep\n")), "l.zip")
    assert not late.ok
    assert "pip did not finish within 0.05 s" in late.problems[0].message
    assert staging_leftovers(manager) == [] and staging_leftovers(slow) == []


async def test_installing_turned_off_refuses_a_skill_that_needs_packages(
    tmp_path: Path, wheels: Path
) -> None:
    manager = make_manager(tmp_path, wheels, skill_deps_install=False)
    [result] = await manager.install(
        "hal", make_zip(skill_files("needy", "sage-tiny-dep\n")), "x.zip"
    )
    assert not result.ok
    assert "SAGE_SKILL_DEPS_INSTALL=false" in result.problems[0].message
    [plain] = await manager.install("hal", make_zip(skill_files("plain", None)), "x.zip")
    assert plain.ok


async def test_bundled_skills_install_in_the_background(tmp_path: Path, wheels: Path) -> None:
    bundled = tmp_path / "bundled"
    good = write_skill(bundled, "bundled-good", "Needs a package.", "Body.", {"use.py": USE_PY})
    (good / "scripts" / "helper.py").write_text("X = 'from the skill'\n")
    (good / "requirements.txt").write_text("sage-tiny-dep\n")
    bad = write_skill(bundled, "bundled-bad", "Needs a missing package.", "Body.")
    (bad / "requirements.txt").write_text("sage-missing-for-good\n")
    manager = make_manager(tmp_path, wheels, skills_bundled_dir=bundled)

    first = await manager.for_user("ivy")
    states = {s.name: s.environment.status for s in first if s.environment is not None}
    assert states == {"bundled-good": "installing", "bundled-bad": "installing"}
    assert first.usable().names == []

    async with asyncio.timeout(120):
        while True:
            view = await manager.for_user("ivy")
            statuses = {s.name: s.environment.status for s in view if s.environment}
            if "installing" not in statuses.values():
                break
            await asyncio.sleep(0.2)
    assert statuses == {"bundled-good": "ready", "bundled-bad": "failed"}
    failed = view.get("bundled-bad")
    assert failed is not None and not failed.usable
    assert "sage-missing-for-good" in (failed.unusable_reason or "")
    assert view.usable().names == ["bundled-good"]
    ok, out = await run_use(manager, "ivy", "bundled-good")
    assert ok and json.loads(out["stdout"])["value"] == 42
    await manager.aclose()


async def test_unused_folders_are_swept_at_start(tmp_path: Path, wheels: Path) -> None:
    manager = make_manager(tmp_path, wheels)
    [kept] = await manager.install("jo", make_zip(skill_files("kept", "sage-tiny-dep\n")), "x.zip")
    [gone] = await manager.install(
        "jo", make_zip(skill_files("gone", "sage-tiny-dep==1.0\n")), "x.zip"
    )
    assert kept.ok and gone.ok
    await manager.delete("jo", "gone")
    root = manager.environments.root
    kept_key = SkillEnvironments.key(("sage-tiny-dep",))
    gone_key = SkillEnvironments.key(("sage-tiny-dep==1.0",))
    fresh = root / ("0" * 32)
    fresh.mkdir()
    old = time.time() - 7200
    for key in (kept_key, gone_key):
        os.utime(root / key, (old, old))

    restarted = SkillManager(manager.settings)
    restarted.start()
    await restarted.aclose()  # waits for the background sweep
    left = sorted(p.name for p in root.iterdir() if p.name != ".staging")
    # The unused old one goes; the used one stays; a young one stays (an
    # upload may have just built it).
    assert left == sorted([kept_key, fresh.name])


async def test_requirements_work_in_the_unsandboxed_mode_too(tmp_path: Path, wheels: Path) -> None:
    settings = sandbox_settings(tmp_path / "data", skill_deps_find_links=[str(wheels)])
    sandbox = Sandbox(SandboxLimits(), allow_unsandboxed=True, bwrap="", cgroups="off")
    manager = SkillManager(settings, sandbox=sandbox)
    [result] = await manager.install(
        "kim", make_zip(skill_files("host", "sage-tiny-dep\n")), "h.zip"
    )
    assert result.ok
    ok, out = await run_use(manager, "kim", "host")
    assert ok, out
    printed = json.loads(out["stdout"])
    assert printed["value"] == 42 and printed["helper"] == "from the skill"
    assert printed["executable"].endswith("/venv/bin/python")


async def test_shutdown_stops_an_install_under_way(tmp_path: Path, wheels: Path) -> None:
    """A pip run waiting on an index that never answers is killed by aclose,
    its staging folder removed, instead of holding the shutdown."""
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        index = f"http://127.0.0.1:{silent.getsockname()[1]}/simple"
        bundled = tmp_path / "bundled"
        folder = write_skill(bundled, "slow-index", "Its index hangs.", "Body.")
        (folder / "requirements.txt").write_text("sage-from-a-silent-index\n")
        manager = make_manager(
            tmp_path,
            wheels,
            skills_bundled_dir=bundled,
            skill_deps_no_index=False,
            skill_deps_index_url=index,
            skill_deps_find_links=[],
        )
        view = await manager.for_user("kay")
        assert view.get("slow-index") is not None
        async with asyncio.timeout(30):
            while not pip_children():  # noqa: ASYNC110 - a child process, no event to await
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            started = time.monotonic()
            await manager.aclose()
        assert time.monotonic() - started < 10
    assert pip_children() == []
    assert staging_leftovers(manager) == []


def pip_children() -> list[int]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "pip" in child.cmdline():
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found
