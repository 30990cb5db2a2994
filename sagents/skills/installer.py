"""Installing unpacked skills into a user's folder: check each, then swap in.

The steps are synchronous (they run in a worker thread); ``SkillManager``
orders them: unpack into a staging folder, ``check_unpacked`` every skill
found, then ``commit`` the valid ones while holding the manager's lock, so
no reader lists the folder between the two renames of a replacement and no
two uploads of one name interleave. Everything transient (the unpacked
tree, a replaced skill's old folder) stays under the staging folder, which
the manager removes whatever happens: a failed upload leaves nothing in the
user's folder.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sagents.skills.archive import ROOT_FOLDER, UnpackedSkill
from sagents.skills.format import (
    MAX_SKILL_MD_BYTES,
    SKILL_FILE,
    Skill,
    SkillInvalid,
    SkillProblem,
    check_name,
    load_skill_dir,
    parse_skill_text,
)
from sagents.skills.requirements import REQUIREMENTS_FILE, SkillEnvironment


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What became of one skill of an uploaded archive."""

    source: str
    """Its folder inside the archive ('' for the archive's root)."""
    name: str | None
    """The name its front matter gives, when it gives a usable one."""
    skill: Skill | None = None
    """The installed skill; None when it was refused."""
    problems: list[SkillProblem] = field(default_factory=list)
    """Errors (when refused) and warnings."""

    @property
    def ok(self) -> bool:
        return self.skill is not None


def check_unpacked(unpacked: list[UnpackedSkill]) -> list[InstallResult]:
    """Validate every unpacked skill; two skills of one name are both refused."""
    results = [_check_one(item) for item in unpacked]
    names = Counter(r.name for r in results if r.ok)
    out = []
    for result in results:
        if result.ok and names[result.name] > 1:
            clash = SkillProblem(
                SKILL_FILE, "name", f"{result.name!r}: another skill in this archive has this name"
            )
            result = dataclasses.replace(result, skill=None, problems=[clash, *result.problems])
        out.append(result)
    return out


def _check_one(item: UnpackedSkill) -> InstallResult:
    folder = item.path
    if folder.name == ROOT_FOLDER:
        folder = _name_root_folder(folder)
    try:
        skill = load_skill_dir(folder, origin="user")
    except SkillInvalid as invalid:
        return InstallResult(item.source, _declared_name(folder), None, invalid.problems)
    return InstallResult(item.source, skill.name, skill, list(skill.warnings))


def with_environment(result: InstallResult, environment: SkillEnvironment) -> InstallResult:
    """A checked skill with its installed requirements, or refused with the reason."""
    assert result.skill is not None
    if environment.status == "ready":
        skill = dataclasses.replace(result.skill, environment=environment)
        return dataclasses.replace(result, skill=skill)
    if environment.status == "disabled":
        message = (
            "the skill needs Python packages, and installing them is turned off on this "
            "server (SAGE_SKILL_DEPS_INSTALL=false)"
        )
    else:
        message = f"could not be installed: {environment.error}"
    problem = SkillProblem(REQUIREMENTS_FILE, None, message)
    return dataclasses.replace(result, skill=None, problems=[problem, *result.problems])


def commit(results: list[InstallResult], dest_dir: Path, trash: Path) -> list[InstallResult]:
    """Move each valid skill to ``dest_dir/<name>``, replacing one of that name.

    A replaced folder is moved into ``trash`` (under staging, removed by the
    caller). Each step is a rename on one filesystem (the data directory),
    so a skill folder is always whole. When the second rename fails, the
    replaced folder is put back. Returns the results with each skill's
    final path.
    """
    out: list[InstallResult] = []
    for result in results:
        if result.skill is None:
            out.append(result)
            continue
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / result.skill.name
        old = trash / result.skill.name
        replacing = dest.exists()
        if replacing:
            trash.mkdir(parents=True, exist_ok=True)
            dest.rename(old)
        try:
            result.skill.path.rename(dest)
        except OSError:
            if replacing:
                old.rename(dest)
            raise
        skill = dataclasses.replace(result.skill, path=dest)
        out.append(dataclasses.replace(result, skill=skill))
    return out


def _name_root_folder(root: Path) -> Path:
    """Give a root-level SKILL.md's folder the skill's name, when it has a valid one."""
    name = _declared_name(root)
    if name is not None and not check_name(name, SKILL_FILE, None):
        return root.rename(root.parent / name)
    return root


def _declared_name(folder: Path) -> str | None:
    skill_md = folder / SKILL_FILE
    try:
        if skill_md.stat().st_size > MAX_SKILL_MD_BYTES:
            return None
        data, _, _ = parse_skill_text(skill_md.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    name = data.get("name")
    return name if isinstance(name, str) and name else None
