"""The Agent Skills folder format: ``SKILL.md`` with YAML front matter.

A skill is a folder whose ``SKILL.md`` starts with a ``---`` delimited YAML
block (``name``, ``description``, optional ``license``, ``allowed-tools``,
``metadata``) followed by Markdown instructions. Validation collects *every*
problem (file and field) instead of stopping at the first, so an author fixes
a skill in one pass; the same checks guard uploads and ``sage skills validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SKILL_FILE = "SKILL.md"
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_SKILL_MD_BYTES = 256_000
KNOWN_FIELDS = frozenset({"name", "description", "license", "allowed-tools", "metadata"})
KNOWN_DIRS = ("scripts", "references", "assets")


@dataclass(frozen=True, slots=True)
class SkillProblem:
    """One thing wrong with a skill, located precisely enough to fix."""

    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Skill:
    """A parsed, valid skill. ``origin`` says which layer it came from."""

    name: str
    description: str
    body: str
    path: Path
    origin: str
    license: str | None = None
    allowed_tools: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def files(self) -> list[str]:
        """Every regular file under the folder, relative, sorted (no symlinks)."""
        out: list[str] = []
        for item in self.path.rglob("*"):
            if item.is_file() and not item.is_symlink():
                out.append(item.relative_to(self.path).as_posix())
        return sorted(out)

    def scripts(self) -> list[str]:
        return [f.removeprefix("scripts/") for f in self.files() if f.startswith("scripts/")]


class SkillInvalid(ValueError):
    """A skill folder failed validation; ``problems`` lists every reason."""

    def __init__(self, problems: list[SkillProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def split_front_matter(text: str) -> tuple[str, str] | None:
    """(YAML text, body) of a ``---`` delimited document, or None if absent."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    return None


def check_name(value: Any, file: str, folder: str | None) -> list[SkillProblem]:
    if not isinstance(value, str) or not value:
        return [SkillProblem(file, "name", "required: a non-empty string")]
    problems = []
    if len(value) > MAX_NAME:
        problems.append(SkillProblem(file, "name", f"at most {MAX_NAME} characters"))
    if not NAME_PATTERN.fullmatch(value):
        problems.append(
            SkillProblem(
                file,
                "name",
                f"{value!r}: use lowercase letters, digits and single hyphens "
                "(no leading or trailing hyphen)",
            )
        )
    if folder is not None and value != folder:
        problems.append(
            SkillProblem(file, "name", f"{value!r} does not match the folder name {folder!r}")
        )
    return problems


def parse_skill_text(
    text: str, *, file: str = SKILL_FILE, folder: str | None = None
) -> tuple[dict[str, Any], str, list[SkillProblem]]:
    """Front matter, body and every problem found in one ``SKILL.md`` text."""
    split = split_front_matter(text)
    if split is None:
        return {}, text, [SkillProblem(file, None, "missing YAML front matter between '---' lines")]
    raw, body = split
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return {}, body, [SkillProblem(file, None, f"front matter is not valid YAML{where}")]
    if not isinstance(data, dict):
        return {}, body, [SkillProblem(file, None, "front matter must be a YAML mapping")]
    problems = check_name(data.get("name"), file, folder)
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(SkillProblem(file, "description", "required: a non-empty string"))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(SkillProblem(file, "description", f"at most {MAX_DESCRIPTION} characters"))
    if "license" in data and not isinstance(data["license"], str):
        problems.append(SkillProblem(file, "license", "must be a string"))
    tools = data.get("allowed-tools")
    if tools is not None and not (
        isinstance(tools, str)
        or (isinstance(tools, list) and all(isinstance(t, str) for t in tools))
    ):
        problems.append(
            SkillProblem(file, "allowed-tools", "must be a string or a list of strings")
        )
    if "metadata" in data and not isinstance(data["metadata"], dict):
        problems.append(SkillProblem(file, "metadata", "must be a mapping"))
    for key in sorted(set(map(str, data)) - KNOWN_FIELDS):
        problems.append(SkillProblem(file, key, "unknown field"))
    if not body.strip():
        problems.append(SkillProblem(file, "body", "the Markdown instructions are empty"))
    return data, body, problems


def validate_skill_dir(path: Path) -> list[SkillProblem]:
    """Every problem of the skill folder at ``path`` (empty list: valid)."""
    return _load(path, origin="local")[1]


def load_skill_dir(path: Path, origin: str) -> Skill:
    """Parse a skill folder; raises ``SkillInvalid`` listing every problem."""
    skill, problems = _load(path, origin)
    if skill is None or problems:
        raise SkillInvalid(problems)
    return skill


def _load(path: Path, origin: str) -> tuple[Skill | None, list[SkillProblem]]:
    skill_md = path / SKILL_FILE
    if not path.is_dir():
        return None, [SkillProblem(str(path), None, "not a directory")]
    if not skill_md.is_file() or skill_md.is_symlink():
        return None, [SkillProblem(SKILL_FILE, None, "missing (a skill needs SKILL.md)")]
    if skill_md.stat().st_size > MAX_SKILL_MD_BYTES:
        return None, [SkillProblem(SKILL_FILE, None, f"larger than {MAX_SKILL_MD_BYTES} bytes")]
    try:
        text = skill_md.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [SkillProblem(SKILL_FILE, None, "not valid UTF-8")]
    data, body, problems = parse_skill_text(text, folder=path.name)
    for item in path.rglob("*"):
        if item.is_symlink():
            rel = item.relative_to(path).as_posix()
            problems.append(SkillProblem(rel, None, "symlinks are not allowed in a skill"))
    for name in KNOWN_DIRS:
        sub = path / name
        if sub.exists() and not sub.is_dir():
            problems.append(SkillProblem(name, None, "must be a directory"))
    if problems:
        return None, problems
    tools = data.get("allowed-tools") or ()
    return (
        Skill(
            name=data["name"],
            description=data["description"].strip(),
            body=body.strip() + "\n",
            path=path,
            origin=origin,
            license=data.get("license"),
            allowed_tools=tuple(tools.split()) if isinstance(tools, str) else tuple(tools),
            metadata=dict(data.get("metadata") or {}),
        ),
        [],
    )
