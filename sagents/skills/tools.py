"""The level-2 and level-3 skill tools an agent loop can call.

Level 1 (names and descriptions) is prompt text (``disclosure.py``). The
rest is behind tools, so nothing reaches the model unless it asks:
``load_skill`` returns the instructions, ``read_skill_file`` one file of the
folder, ``run_skill_script`` runs one of its scripts in the sandbox. Names
and paths from the model are looked up in the skill's own listing, never
joined onto a filesystem path.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from sagents.files.announce import announce_files
from sagents.skills.format import Skill
from sagents.skills.view import SkillView
from sagents.skills.workspace import SkillWorkspace
from sagents.tools.decorator import tool
from sagents.tools.spec import ToolSpec

SKILL_TOOL_NAMES = ("load_skill", "read_skill_file", "run_skill_script")
MAX_FILE_CHARS = 60_000


class SkillToolError(RuntimeError):
    """A skill tool refused or failed; the message is written for the model."""


class ScriptFailed(RuntimeError):
    """The script ran but failed or hit a limit; the message is the JSON result,
    so the tool result is ``ok: false`` and still carries the output."""


def skill_tools(view: SkillView, workspace: SkillWorkspace) -> list[ToolSpec]:
    """``load_skill``, ``read_skill_file`` and ``run_skill_script`` over ``view``.

    Built per run: the view is the user's skills at the start of the run and
    the workspace is the session's, so nothing here is shared between users.
    """

    def find(name: str) -> Skill:
        skill = view.get(name)
        if skill is None:
            available = ", ".join(view.names) or "(none)"
            raise SkillToolError(f"no skill named {name!r}; available skills: {available}")
        return skill

    @tool(name="load_skill", max_result_chars=MAX_FILE_CHARS)
    def load_skill(
        name: Annotated[str, Field(description="The skill's name, as listed.")],
    ) -> str:
        """Load a skill's full instructions (its SKILL.md body) and its file list."""
        skill = find(name)
        files = [f for f in skill.files() if f != "SKILL.md"]
        listing = "\n".join(f"- {f}" for f in files) or "(none)"
        return f"# Skill: {skill.name}\n\n{skill.body}\nFiles in this skill:\n{listing}\n"

    @tool(name="read_skill_file", max_result_chars=MAX_FILE_CHARS)
    def read_skill_file(
        name: Annotated[str, Field(description="The skill's name.")],
        path: Annotated[
            str, Field(description="A file of the skill, relative, e.g. references/guide.md.")
        ],
    ) -> str:
        """Read one file inside a skill's folder (references, assets, scripts)."""
        skill = find(name)
        if path not in skill.files():
            raise SkillToolError(
                f"skill {name!r} has no file {path!r}; files: {', '.join(skill.files())}"
            )
        data = (skill.path / path).read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return f"({path} is a binary file of {len(data)} bytes)"

    async def run_skill_script(
        name: Annotated[str, Field(description="The skill's name.")],
        script: Annotated[
            str, Field(description="The script's file name inside scripts/, e.g. summarize.py.")
        ],
        args: Annotated[
            list[str] | None, Field(description="Command-line arguments, one string each.")
        ] = None,
        stdin: Annotated[str | None, Field(description="Text sent to the script's stdin.")] = None,
    ) -> dict[str, Any]:
        """Run one of a skill's scripts in an isolated sandbox (no network; only the
        session workspace, the current folder, is writable) and return its exit code,
        stdout and stderr."""
        skill = find(name)
        result = await workspace.run_script(skill, script, list(args or []), stdin)
        announce_files(result.files)
        payload: dict[str, Any] = {
            "ok": result.ok,
            "exit_code": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
        }
        if result.notes:
            payload["notes"] = list(result.notes)
        if not result.ok:
            payload["reason"] = result.reason
            if result.limit is not None:
                payload["limit"] = result.limit
            raise ScriptFailed(json.dumps(payload, ensure_ascii=False))
        return payload

    limits = workspace.sandbox.limits
    run_spec = tool(
        name="run_skill_script",
        timeout_s=limits.deadline_s + 15,
        max_result_chars=limits.max_output_bytes * 2 + 1000,
    )(run_skill_script)
    return [load_skill, read_skill_file, run_spec]
