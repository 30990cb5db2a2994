"""Skill fixtures: a manager on a temp data dir with a skill of test scripts."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sagents.settings import Settings
from sagents.skills import SkillManager, skill_tools
from sagents.tools import ToolManager, ToolProxy
from tests.conftest import BUNDLED_SKILLS, make_settings


def write_skill(
    root: Path, name: str, description: str, body: str, scripts: dict[str, str] | None = None
) -> Path:
    folder = root / name
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {description}\n---\n{body}\n", encoding="utf-8"
    )
    for file, code in (scripts or {}).items():
        (folder / "scripts" / file).write_text(textwrap.dedent(code), encoding="utf-8")
    return folder


def sandbox_settings(data_dir: Path, **overrides: Any) -> Settings:
    limits: dict[str, Any] = {
        "skill_cpu_s": 2,
        "skill_wall_s": 8.0,
        "skill_memory_mb": 256,
        "skill_max_procs": 16,
        "skill_max_output_bytes": 4096,
    }
    limits.update(overrides)
    limits.setdefault("skills_bundled_dir", BUNDLED_SKILLS)
    return make_settings(data_dir, **limits)


@pytest.fixture
def skill_settings(tmp_path: Path) -> Settings:
    return sandbox_settings(tmp_path / "data")


@pytest.fixture
def manager(skill_settings: Settings) -> SkillManager:
    return SkillManager(skill_settings)


async def tool_proxy(manager: SkillManager, user: str, session_id: str) -> ToolProxy:
    """The skill tools of ``user`` in ``session_id``, behind a real ToolProxy."""
    view = await manager.for_user(user)
    tools = ToolManager()
    for spec in skill_tools(view, manager.workspace(session_id)):
        tools.add(spec)
    return tools.proxy()
