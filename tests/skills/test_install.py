"""SkillManager.install in process: results per skill, cancellation, crash leftovers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sagents.skills import SkillManager
from tests.skills.archives import good, make_zip


def transient(manager: SkillManager) -> list[Path]:
    """Staging folders, and hidden folders among the users' skills."""
    data_dir = manager.settings.data_dir
    found = list(manager.staging_root.iterdir()) if manager.staging_root.exists() else []
    users = data_dir / "users"
    return found + (list(users.rglob(".*")) if users.exists() else [])


async def test_results_per_skill_and_the_view_is_refreshed(manager: SkillManager) -> None:
    before = await manager.for_user("ann")  # a cached view, to be replaced
    assert "say-hello" not in before
    archive = make_zip({**good("say-hello", "p/"), "p/Bad/SKILL.md": "---\nname: Bad\n---\n"})
    results = await manager.install("ann", archive, "p.zip")
    assert [(r.source, r.ok) for r in results] == [("p/Bad", False), ("p/say-hello", True)]
    installed = results[1].skill
    assert installed is not None and installed.path == manager.user_dir("ann") / "say-hello"
    assert "say-hello" in await manager.for_user("ann")
    assert transient(manager) == []


async def test_many_concurrent_installs_of_one_name(manager: SkillManager) -> None:
    versions = [
        make_zip({"same/SKILL.md": f"---\nname: same\ndescription: v{i}\n---\nbody {i}\n"})
        for i in range(16)
    ]
    results = await asyncio.gather(*(manager.install("bo", v, "s.zip") for v in versions))
    assert all(r[0].ok for r in results)
    skill = (await manager.for_user("bo")).get("same")
    assert skill is not None and skill.body == f"body {skill.description[1:]}\n"
    assert [p.name for p in manager.user_dir("bo").iterdir()] == ["same"]
    assert transient(manager) == []


async def test_a_cancelled_install_finishes_or_leaves_nothing(manager: SkillManager) -> None:
    archive = make_zip({**good(), **{f"say-hello/f{i}.txt": "x" * 1000 for i in range(300)}})
    for delay in (0, 0.01, 0.05):
        task = asyncio.create_task(manager.install("cy", archive, "c.zip"))
        await asyncio.sleep(delay)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await manager.aclose()  # waits for the shielded work
        assert transient(manager) == []
        folder = manager.user_dir("cy") / "say-hello"
        if folder.exists():  # installed whole, or not at all
            assert len(list(folder.rglob("*.txt"))) == 300


async def test_staging_left_by_a_crash_is_swept_at_start(manager: SkillManager) -> None:
    stale = manager.staging_root / "0123abcd" / "unpacked" / "x"
    stale.mkdir(parents=True)
    (stale / "f.txt").write_text("left by a crash")
    manager.start()
    await manager.aclose()
    assert transient(manager) == []
