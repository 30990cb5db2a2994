"""Agent Skills: SKILL.md folders, progressive disclosure and a sandbox for scripts.

Level 1 is ``level1_prompt`` (names and descriptions); levels 2 and 3 are the
tools from ``skill_tools`` (``load_skill``, ``read_skill_file``,
``run_skill_script``). ``SkillManager`` (one per Runtime) merges the bundled,
installation and per-user layers and owns the ``Sandbox``.
"""

from sagents.skills.archive import ArchiveRejected
from sagents.skills.confinement import SandboxLimits
from sagents.skills.disclosure import level1_prompt, rank_skills
from sagents.skills.format import (
    Skill,
    SkillInvalid,
    SkillProblem,
    load_skill_dir,
    validate_skill_dir,
)
from sagents.skills.installer import InstallResult
from sagents.skills.manager import SkillManager, SkillNotFound
from sagents.skills.sandbox import Sandbox, SandboxStatus, SandboxUnavailable, ScriptResult
from sagents.skills.selection import SkillSelection, skill_selection_schema
from sagents.skills.tool_layer import proxy_with
from sagents.skills.tools import SKILL_TOOL_NAMES, ScriptFailed, SkillToolError, skill_tools
from sagents.skills.view import SkillView
from sagents.skills.workspace import ScriptNotFound, SkillWorkspace

__all__ = [
    "SKILL_TOOL_NAMES",
    "ArchiveRejected",
    "InstallResult",
    "Sandbox",
    "SandboxLimits",
    "SandboxStatus",
    "SandboxUnavailable",
    "ScriptFailed",
    "ScriptNotFound",
    "ScriptResult",
    "Skill",
    "SkillInvalid",
    "SkillManager",
    "SkillNotFound",
    "SkillProblem",
    "SkillSelection",
    "SkillToolError",
    "SkillView",
    "SkillWorkspace",
    "level1_prompt",
    "load_skill_dir",
    "proxy_with",
    "rank_skills",
    "skill_selection_schema",
    "skill_tools",
    "validate_skill_dir",
]
