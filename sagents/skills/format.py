"""The Agent Skills folder format: ``SKILL.md`` with YAML front matter.

A skill is a folder whose ``SKILL.md`` starts with a ``---`` delimited YAML
block followed by Markdown instructions. The fields and their rules are the
Agent Skills specification's (agentskills.io/specification, "Frontmatter"):

- ``name`` (required): 1-64 characters, lowercase letters ``a-z``, digits
  and hyphens, no leading, trailing or consecutive hyphen, equal to the
  folder's name. (The reference validator, skills-ref, also admits
  non-ASCII lowercase letters; Sage keeps to ``a-z`` as the specification's
  text says, since the name is a folder, a URL segment and prompt text,
  where look-alike letters could impersonate another skill.)
- ``description`` (required): 1-1024 characters, not blank.
- ``license`` (optional): a license name or a bundled file's name.
- ``compatibility`` (optional): 1-500 characters of environment needs.
- ``metadata`` (optional): a map from string keys to string values. Plain
  scalars are read as their text (``version: 1.0`` is ``"1.0"``); a nested
  list or mapping is kept with a warning.
- ``allowed-tools`` (optional, experimental): a space-delimited string or a
  list of strings.

Fields the specification does not define are kept (``unknown_fields``) with
a warning rather than refused, so a skill written for another client still
installs. Validation collects *every* problem (file and field) instead of
stopping at the first, so an author fixes a skill in one pass; the same
checks guard uploads and ``sage skills validate``. Warnings never block.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sagents.skills.frontmatter import FrontMatterError, load_front_matter
from sagents.skills.requirements import REQUIREMENTS_FILE, SkillEnvironment, read_requirements

SKILL_FILE = "SKILL.md"
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
MAX_SKILL_MD_BYTES = 256_000
KNOWN_FIELDS = frozenset(
    {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
)
KNOWN_DIRS = ("scripts", "references", "assets")

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SkillProblem:
    """One thing wrong with a skill, located precisely enough to fix.

    An ``error`` makes the skill invalid; a ``warning`` is reported (by
    ``sage skills validate``, the upload response and the skill's detail)
    but the skill is still installed and used.
    """

    file: str
    field: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{where}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class Skill:
    """A parsed, valid skill. ``origin`` says which layer it came from."""

    name: str
    description: str
    body: str
    path: Path
    origin: str
    license: str | None = None
    compatibility: str | None = None
    allowed_tools: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    unknown_fields: dict[str, Any] = field(default_factory=dict)
    """Front-matter fields the specification does not define, kept as JSON."""
    warnings: tuple[SkillProblem, ...] = ()
    requirements: tuple[str, ...] = ()
    """Python packages from its ``requirements.txt`` (see ``requirements.py``)."""
    environment: SkillEnvironment | None = None
    """Where those packages are installed, and whether they are; set by
    ``SkillManager`` when it loads the skill. None when it needs none."""

    @property
    def usable(self) -> bool:
        """Whether its scripts can run: it needs no packages, or they are installed."""
        return not self.requirements or (
            self.environment is not None and self.environment.status == "ready"
        )

    @property
    def unusable_reason(self) -> str | None:
        if self.usable:
            return None
        environment = self.environment
        if environment is None:
            return "its requirements are not installed"
        if environment.status == "installing":
            return "its requirements are being installed"
        if environment.status == "disabled":
            return (
                "its requirements are not installed, and installing skill dependencies "
                "is turned off on this server (SAGE_SKILL_DEPS_INSTALL)"
            )
        return f"its requirements could not be installed: {environment.error}"

    def files(self) -> list[str]:
        """Every regular file under the folder, relative, sorted (no symlinks).

        An upload of the same name may replace the folder while it is being
        listed (installs swap whole folders); ``os.walk`` skips a folder that
        vanished instead of raising, so a listing never fails for that.
        """
        out: list[str] = []
        for folder, _, names in os.walk(self.path):
            base = Path(folder)
            for name in names:
                item = base / name
                if item.is_file() and not item.is_symlink():
                    out.append(item.relative_to(self.path).as_posix())
        return sorted(out)

    def scripts(self) -> list[str]:
        return [f.removeprefix("scripts/") for f in self.files() if f.startswith("scripts/")]


class SkillInvalid(ValueError):
    """A skill folder failed validation; ``problems`` lists every reason
    (the errors, and any warnings found on the way)."""

    def __init__(self, problems: list[SkillProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems if p.is_error))
        self.problems = problems


def split_front_matter(text: str) -> tuple[str, str] | None:
    """(YAML text, body) of a ``---`` delimited document, or None if absent."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
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
                f"{value!r}: use lowercase letters a-z, digits and single hyphens "
                "(no leading, trailing or consecutive hyphen)",
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
        data = load_front_matter(raw, string_maps=("metadata",))
    except FrontMatterError as error:
        where = f" (line {error.line})" if error.line is not None else ""
        return {}, body, [SkillProblem(file, None, f"front matter{where}: {error.message}")]
    if not isinstance(data, dict):
        return {}, body, [SkillProblem(file, None, "front matter must be a YAML mapping")]
    problems = check_name(data.get("name"), file, folder)
    problems += _check_description(data.get("description"), file)
    problems += _check_optional_text(data, "license", None, file)
    problems += _check_optional_text(data, "compatibility", MAX_COMPATIBILITY, file)
    problems += _check_allowed_tools(data.get("allowed-tools"), file)
    problems += _check_metadata(data.get("metadata"), file)
    for key in sorted(set(data) - KNOWN_FIELDS):
        problems.append(
            SkillProblem(
                file,
                key,
                "not an Agent Skills field; kept as given, but Sage does not use it",
                "warning",
            )
        )
    if not body.strip():
        problems.append(
            SkillProblem(file, "body", "the Markdown instructions are empty", "warning")
        )
    return data, body, problems


def _check_description(value: Any, file: str) -> list[SkillProblem]:
    if not isinstance(value, str) or not value.strip():
        return [SkillProblem(file, "description", "required: a non-empty string")]
    if len(value) > MAX_DESCRIPTION:
        return [SkillProblem(file, "description", f"at most {MAX_DESCRIPTION} characters")]
    return []


def _check_optional_text(
    data: dict[str, Any], key: str, limit: int | None, file: str
) -> list[SkillProblem]:
    if key not in data:
        return []
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        return [SkillProblem(file, key, "must be a non-empty string when given")]
    if limit is not None and len(value) > limit:
        return [SkillProblem(file, key, f"at most {limit} characters")]
    return []


def _check_allowed_tools(value: Any, file: str) -> list[SkillProblem]:
    if value is None or isinstance(value, str):
        return []
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return []
    return [SkillProblem(file, "allowed-tools", "a space-delimited string or a list of strings")]


def _check_metadata(value: Any, file: str) -> list[SkillProblem]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [SkillProblem(file, "metadata", "must be a mapping of string keys to strings")]
    return [
        SkillProblem(
            file,
            f"metadata.{key}",
            "the specification defines metadata values as strings; kept as given",
            "warning",
        )
        for key, item in value.items()
        if not isinstance(item, str)
    ]


def validate_skill_dir(path: Path) -> list[SkillProblem]:
    """Every problem of the skill folder at ``path``: errors and warnings."""
    return _load(path, origin="local")[1]


def load_skill_dir(path: Path, origin: str) -> Skill:
    """Parse a skill folder; raises ``SkillInvalid`` when any problem is an error."""
    skill, problems = _load(path, origin)
    if skill is None:
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
    requirements, requirement_problems = read_requirements(path)
    problems += [SkillProblem(REQUIREMENTS_FILE, None, str(p)) for p in requirement_problems]
    for name in KNOWN_DIRS:
        sub = path / name
        if sub.exists() and not sub.is_dir():
            problems.append(SkillProblem(name, None, "must be a directory"))
    if any(p.is_error for p in problems):
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
            compatibility=data.get("compatibility"),
            allowed_tools=tuple(tools.split()) if isinstance(tools, str) else tuple(tools),
            metadata=dict(data.get("metadata") or {}),
            unknown_fields={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
            warnings=tuple(problems),
            requirements=requirements,
        ),
        problems,
    )
