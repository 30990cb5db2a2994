"""A session's skill workspace: where skill copies live and scripts write.

Layout under ``<data_dir>/workspaces/<session_id>/``: ``skills/<name>/`` holds
a fresh copy of each skill whose script ran (a script can scribble on its
copy without touching the installed skill), and everything else is the
scripts' output, kept across calls of the same session so one script can
read what another wrote. Inside the sandbox the workspace is ``/workspace``
and the only writable place.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

from sagents.skills.format import Skill
from sagents.skills.sandbox import Sandbox, ScriptResult

INTERPRETERS = {".py": "python", ".sh": "sh"}


class ScriptNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class SkillWorkspace:
    root: Path
    sandbox: Sandbox

    async def run_script(
        self, skill: Skill, script: str, args: list[str], stdin: str | None = None
    ) -> ScriptResult:
        """Copy ``skill`` in, then run ``scripts/<script>`` with ``args``.

        ``script`` must be one of the skill's own scripts, named exactly as
        ``Skill.scripts()`` lists it: a name is looked up, never joined into
        a path, so ``../`` cannot reach anything else. ``.py`` runs with the
        sandbox's Python, ``.sh`` with ``/bin/sh``.
        """
        available = skill.scripts()
        if script not in available:
            listed = ", ".join(available) or "(none)"
            raise ScriptNotFound(
                f"skill {skill.name!r} has no script {script!r}; its scripts: {listed}"
            )
        interpreter = INTERPRETERS.get(Path(script).suffix)
        if interpreter is None:
            raise ScriptNotFound(
                f"cannot run {script!r}: only .py (Python, standard library) and .sh scripts run"
            )
        await asyncio.to_thread(self._prepare, skill)
        relative = f"skills/{skill.name}/scripts/{script}"
        data = stdin.encode() if stdin is not None else None
        return await self.sandbox.run(self.root, [interpreter, relative, *args], stdin=data)

    def _prepare(self, skill: Skill) -> None:
        (self.root / ".tmp").mkdir(parents=True, exist_ok=True)
        copy = self.root / "skills" / skill.name
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(skill.path, copy, symlinks=True)
