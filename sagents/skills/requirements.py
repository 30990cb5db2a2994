"""What a skill needs installed: its ``requirements.txt``, and whether it is.

A skill declares Python packages in ``requirements.txt`` at its root, one
requirement per line (PEP 508: ``pypdf``, ``openpyxl>=3.1``,
``tomli; python_version < "3.11"``), with ``#`` comments. The file is
untrusted: it comes with an uploaded skill, and pip reads options from a
requirements file (``--index-url``, ``-r other.txt``, ``--trusted-host``) and
fetches direct references (``pkg @ https://…``, a local path), which would
let a skill make the server fetch any URL or read any wheel on its disk. So
only requirement specifiers are accepted: an option line or a direct
reference is an error naming the line, and pip is given a file Sage writes
from the parsed requirements, never the skill's own.

The front matter is not used for this: the Agent Skills specification has
no such field, and ``requirements.txt`` is what the collections' own
scripts already document (``pip install -r requirements.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement

REQUIREMENTS_FILE = "requirements.txt"
MAX_REQUIREMENTS_BYTES = 64 * 1024
MAX_REQUIREMENTS = 100

EnvironmentStatus = Literal["ready", "installing", "failed", "disabled"]


@dataclass(frozen=True, slots=True)
class SkillEnvironment:
    """The state of a skill's installed requirements (``SkillManager`` sets it).

    ``ready``: installed, ``path`` is the folder put on the scripts' import
    path. ``installing``: being built in the background (a bundled skill at
    start-up, or after Sage's Python changed). ``failed``: pip refused,
    ``error`` is its reason. ``disabled``: installing is turned off
    (``SAGE_SKILL_DEPS_INSTALL``) and no environment exists. Only a ready
    skill is usable; the others are listed with the reason and not offered
    to the model.
    """

    status: EnvironmentStatus
    path: Path | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RequirementProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


def parse_requirements(text: str) -> tuple[tuple[str, ...], list[RequirementProblem]]:
    """The requirements of a ``requirements.txt`` text (normalised), and its problems.

    Blank lines and comments are skipped; a trailing ``\\`` joins the next
    line, as pip reads it. Each requirement is re-written from its parsed
    form (``str(Requirement)``), so what pip sees is exactly what was checked.
    """
    requirements: list[str] = []
    problems: list[RequirementProblem] = []
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            option = line.split()[0]
            problems.append(
                RequirementProblem(
                    number,
                    f"pip options are not allowed ({option}); list package requirements only "
                    "(the index is the server's)",
                )
            )
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            problems.append(RequirementProblem(number, f"not a requirement: {error}"))
            continue
        if requirement.url:
            problems.append(
                RequirementProblem(
                    number,
                    f"{requirement.name}: direct references (@ URL or path) are not installed; "
                    "name a package from the index",
                )
            )
            continue
        requirements.append(str(requirement))
    if len(requirements) > MAX_REQUIREMENTS:
        problems.append(RequirementProblem(None, f"more than {MAX_REQUIREMENTS} requirements"))
    return tuple(requirements), problems


def read_requirements(folder: Path) -> tuple[tuple[str, ...], list[RequirementProblem]]:
    """The requirements of the skill at ``folder``; none when it has no file."""
    path = folder / REQUIREMENTS_FILE
    if not path.exists() and not path.is_symlink():
        return (), []
    if path.is_symlink() or not path.is_file():
        return (), [RequirementProblem(None, "must be a regular file")]
    if path.stat().st_size > MAX_REQUIREMENTS_BYTES:
        return (), [RequirementProblem(None, f"larger than {MAX_REQUIREMENTS_BYTES} bytes")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return (), [RequirementProblem(None, "not valid UTF-8")]
    return parse_requirements(text)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each non-empty line, comments removed."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not pending:
            start = number
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _strip_comment(line: str) -> str:
    """pip's rule: ``#`` at the start, or after whitespace, begins a comment."""
    if line.lstrip().startswith("#"):
        return ""
    for index, char in enumerate(line):
        if char == "#" and index > 0 and line[index - 1] in " \t":
            return line[:index].rstrip()
    return line.rstrip()
