"""Where the skills are in a tree of files: every top-most folder with a SKILL.md.

One rule for an uploaded archive and a folder on disk: a folder holding
``SKILL.md`` is a skill, unless it is inside another skill (then it is just
one of that skill's files). So a single skill, a folder of skills and a
repository with its skills a few folders down are all read the same way.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from sagents.skills.format import SKILL_FILE


def skill_roots(files: list[PurePosixPath]) -> list[PurePosixPath]:
    """The folders holding a ``SKILL.md`` that are not inside another one, sorted.

    ``PurePosixPath()`` (the root itself) when the root holds ``SKILL.md``:
    then everything is that one skill.
    """
    candidates = sorted({f.parent for f in files if f.name == SKILL_FILE})
    roots: list[PurePosixPath] = []
    for folder in candidates:  # sorted: a parent comes before its children
        if not any(folder.is_relative_to(root) for root in roots):
            roots.append(folder)
    return roots


def find_skill_dirs(folder: Path) -> list[Path]:
    """The skill folders at or under ``folder`` on disk (symlinks not followed)."""
    if (folder / SKILL_FILE).is_file():
        return [folder]
    found = [
        PurePosixPath(path.relative_to(folder).as_posix())
        for path in folder.rglob(SKILL_FILE)
        if path.is_file() and not path.is_symlink()  # rglob does not enter linked folders
    ]
    return [folder.joinpath(*root.parts) for root in skill_roots(found)]
