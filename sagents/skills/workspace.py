"""A session's skill workspace: where the session's scripts read and write.

``<data_dir>/workspaces/<session_id>/`` keeps what the session's scripts
wrote, across calls, so one script can read what another wrote. Inside the
sandbox it is ``/workspace`` (a size-capped tmpfs filled from it and saved
back to it, see ``workspace_store.py``), the only writable place; the skill
itself is at ``/skills/<name>``, read-only, never copied into the
workspace. Deleting the session deletes the folder (``delete``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sagents.skills import wsstream
from sagents.skills.format import Skill
from sagents.skills.sandbox import Sandbox, ScriptResult
from sagents.skills.workspace_store import WorkspaceStore
from sagents.tools.call_scope import current_call

log = logging.getLogger(__name__)
INTERPRETERS = {".py": "python", ".sh": "sh"}


class ScriptNotFound(LookupError):
    pass


class SkillUnusable(RuntimeError):
    """The skill's requirements are not installed (failed, being installed, or off)."""


@dataclass(frozen=True, slots=True)
class SkillWorkspace:
    root: Path
    sandbox: Sandbox

    async def run_script(
        self, skill: Skill, script: str, args: list[str], stdin: str | None = None
    ) -> ScriptResult:
        """Run ``scripts/<script>`` of ``skill`` with ``args`` against this workspace.

        ``script`` must be one of the skill's own scripts, named exactly as
        ``Skill.scripts()`` lists it: a name is looked up, never joined into
        a path, so ``../`` cannot reach anything else. ``.py`` runs with the
        skill's Python (the standard library, the skill's folder and its
        installed requirements), ``.sh`` with ``/bin/sh``. Any number of calls may
        run at once; each gets its own sandbox and workspace copy.
        """
        available = skill.scripts()
        if script not in available:
            listed = ", ".join(available) or "(none)"
            raise ScriptNotFound(
                f"skill {skill.name!r} has no script {script!r}; its scripts: {listed}"
            )
        interpreter = INTERPRETERS.get(Path(script).suffix)
        if interpreter is None:
            raise ScriptNotFound(f"cannot run {script!r}: only .py (Python) and .sh scripts run")
        if not skill.usable:
            raise SkillUnusable(f"skill {skill.name!r} cannot run scripts: {skill.unusable_reason}")
        environment = skill.environment
        deps = environment.path if environment is not None else None
        data = stdin.encode() if stdin is not None else None
        program = [interpreter, f"scripts/{script}", *args]
        scope = current_call()
        context = scope.context if scope is not None else None
        telemetry = context.telemetry if context is not None else None
        if telemetry is None:
            return await self.sandbox.run(
                self.root, skill.path, skill.name, program, stdin=data, deps=deps
            )
        with telemetry.current_step(
            f"run_skill_script {skill.name}/{script}",
            **{"sage.skill.name": skill.name, "sage.skill.script": script},
        ) as span:
            result = await self.sandbox.run(
                self.root, skill.path, skill.name, program, stdin=data, deps=deps
            )
            if result.exit_code is not None:
                span.set_attribute("process.exit.code", result.exit_code)
            span.set_attribute("sage.skill.ok", result.ok)
            return result

    async def delete(self) -> None:
        """Delete the workspace's files (after its session is deleted)."""
        limits = self.sandbox.limits
        store = WorkspaceStore(
            self.root,
            self.sandbox.workspace_lock(self.root),
            wsstream.Limits(limits.workspace_bytes, limits.workspace_max_files),
        )
        try:
            await store.delete()
        except OSError as error:  # the session is gone either way; say what is left
            log.warning("could not delete the workspace %s: %s", self.root, error)
