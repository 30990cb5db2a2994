"""Running one skill script confined, bounded and killable.

One call: snapshot the session's workspace and the skill into two stream
files (``workspace_store.py``), make the call's cgroup (``cgroups.py``,
found at start-up by ``cgroup_probe.py``), start bubblewrap with the
launcher inside (``confinement.py``, ``launcher.py``) and watch it
(``supervise.py``), then read the launcher's result stream back as hostile
input and merge it into the workspace. The sandbox never sees a host folder
the server writes, and the server never opens a path a script could have
made.

A failure of the script (non-zero exit, a limit) is a ``ScriptResult`` with
``ok=False``, never an exception: the run goes on.

Where bubblewrap cannot run (checked once by really running a script),
scripts are refused with ``SandboxUnavailable`` unless the operator opted
into the unsandboxed mode, which keeps the limits (cgroups included), the
clean environment and the workspace streams but not the isolation, and says
so in the log at every use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

from sagents.settings import Settings
from sagents.skills import wsstream
from sagents.skills.cgroup_probe import CgroupSetting, probe
from sagents.skills.cgroups import CgroupLimits, Cgroups, RunCgroup
from sagents.skills.confinement import (
    LAUNCHER,
    SANDBOX_UID_BASE,
    SANDBOX_UID_SPAN,
    STREAM_MODULE,
    TREE_MODULE,
    RunFds,
    SandboxLimits,
    compiled,
)
from sagents.skills.fdtree import remove_tree
from sagents.skills.outcome import ScriptResult, compose, refused
from sagents.skills.run_resources import RunResources, write_skill
from sagents.skills.script_command import Script, script_command
from sagents.skills.seccomp import no_userns_filter
from sagents.skills.supervise import supervise
from sagents.skills.workspace_store import (
    STAGING,
    WorkspaceStore,
    WorkspaceTooLarge,
    sweep_staging,
)

log = logging.getLogger(__name__)

__all__ = ["Sandbox", "SandboxStatus", "SandboxUnavailable", "ScriptResult"]


class SandboxUnavailable(RuntimeError):
    """Scripts cannot run: no working bubblewrap and no opt-in to run without."""


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    available: bool
    detail: str


class Sandbox:
    """Runs scripts in workspaces; one per Runtime (it caches the probe)."""

    def __init__(
        self,
        limits: SandboxLimits,
        *,
        allow_unsandboxed: bool = False,
        bwrap: str | None = None,
        cgroups: CgroupSetting = "auto",
        cgroup_parent: str | None = None,
    ) -> None:
        self.limits = limits
        self.allow_unsandboxed = allow_unsandboxed
        self.bwrap = bwrap if bwrap is not None else shutil.which("bwrap")
        self.cgroup_setting: CgroupSetting = cgroups
        self.cgroup_parent = cgroup_parent
        self.cgroups: Cgroups | None = None
        self._status: SandboxStatus | None = None
        self._probe_lock = asyncio.Lock()
        self._uids: set[int] = set()
        self._swept: set[Path] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._seccomp = no_userns_filter()
        self._code = (compiled(LAUNCHER), compiled(STREAM_MODULE), compiled(TREE_MODULE))
        self._required_cgroups_missing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        return cls(
            SandboxLimits.from_settings(settings),
            allow_unsandboxed=settings.skills_allow_unsandboxed,
            cgroups=settings.skill_cgroups,
            cgroup_parent=settings.skill_cgroup_parent,
        )

    def workspace_lock(self, root: Path) -> asyncio.Lock:
        """The lock of one workspace, shared by every call on it while any holds it."""
        key = str(root)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def probe(self) -> SandboxStatus:
        """Whether scripts can run here, found by running one."""
        async with self._probe_lock:
            if self._status is None:
                self._status = await self._probe()
                log_level = logging.INFO if self._status.available else logging.WARNING
                log.log(log_level, "skill sandbox: %s", self._status.detail)
            return self._status

    async def _probe(self) -> SandboxStatus:
        found = await asyncio.to_thread(probe, self.cgroup_setting, self.cgroup_parent)
        self.cgroups = found.cgroups
        if found.cgroups is None and self.cgroup_setting in ("v1", "v2"):
            self._required_cgroups_missing = True
            return SandboxStatus(False, f"SAGE_SKILL_CGROUPS={self.cgroup_setting}: {found.detail}")
        limits_detail = (
            found.detail
            if found.cgroups
            else (f"{found.detail}: memory, CPU and processes are limited per process only")
        )
        userns = (
            "nested user namespaces blocked (seccomp)"
            if self._seccomp is not None
            else "nested user namespaces NOT blocked (no seccomp filter for this machine)"
        )
        if not self.bwrap:
            return SandboxStatus(False, f"bubblewrap (bwrap) is not installed; {limits_detail}")
        with tempfile.TemporaryDirectory(prefix="sage-probe-") as tmp:
            skill = Path(tmp) / "probe"
            skill.mkdir()
            (skill / "probe.py").write_text("")
            script = Script(skill, "probe", "python", "probe.py", ())
            allowed = 20 + self.limits.grace_s
            try:
                async with asyncio.timeout(allowed):
                    result = await self._run(True, Path(tmp) / "workspace", script, None)
            except TimeoutError:
                return SandboxStatus(False, f"bubblewrap did not finish within {allowed:g} s")
            except OSError as error:
                return SandboxStatus(False, f"bubblewrap failed to start: {error}")
        if not result.ok:
            text = (result.reason or "") + " " + result.stderr.strip()[:300]
            return SandboxStatus(False, f"bubblewrap failed: {text.strip()}")
        return SandboxStatus(True, f"bubblewrap at {self.bwrap}; {limits_detail}; {userns}")

    async def run(
        self,
        workspace: Path,
        skill_dir: Path,
        skill_name: str,
        program: list[str],
        *,
        stdin: bytes | None = None,
        deps: Path | None = None,
    ) -> ScriptResult:
        """Run ``program`` of the skill at ``skill_dir`` against ``workspace``.

        ``program`` is ``[interpreter, script, *args]``: the interpreter
        ``python`` (the skill's: the standard library, the skill's folder and
        ``deps``, its installed requirements, see ``pyenv.py``) or ``sh``, the
        script's path relative to the skill folder, then the arguments,
        passed as a list (never a shell). Raises ``SandboxUnavailable`` when
        scripts may not run at all.
        """
        status = await self.probe()
        if stdin is not None and len(stdin) > self.limits.max_stdin_bytes:
            return refused(f"stdin is larger than {self.limits.max_stdin_bytes} bytes")
        script = Script(skill_dir, skill_name, program[0], program[1], tuple(program[2:]), deps)
        if status.available:
            return await self._run(True, workspace, script, stdin)
        if self.allow_unsandboxed and not self._required_cgroups_missing:
            log.warning(
                "running a skill script WITHOUT a sandbox (skills_allow_unsandboxed is on; %s): %s",
                status.detail,
                " ".join(program),
            )
            return await self._run(False, workspace, script, stdin)
        raise SandboxUnavailable(
            f"skill scripts are disabled: the sandbox cannot run ({status.detail}). "
            "Install bubblewrap, or set SAGE_SKILLS_ALLOW_UNSANDBOXED=true to run "
            "scripts without isolation (unsafe)."
        )

    async def _run(
        self, sandboxed: bool, workspace: Path, script: Script, stdin: bytes | None
    ) -> ScriptResult:
        limits = self.limits
        store = WorkspaceStore(
            workspace,
            self.workspace_lock(workspace),
            wsstream.Limits(limits.workspace_bytes, limits.workspace_max_files),
        )
        staging = workspace.parent / STAGING
        await asyncio.to_thread(staging.mkdir, parents=True, exist_ok=True, mode=0o700)
        if staging not in self._swept:
            self._swept.add(staging)
            await asyncio.to_thread(sweep_staging, staging)
        with RunResources(staging) as res:
            try:
                seed = await store.snapshot(res.seed)
            except WorkspaceTooLarge as error:
                return refused(str(error))
            res.seed.seek(0)
            skill = await asyncio.to_thread(write_skill, script.skill_dir, res.skill)
            try:
                try:
                    res.cgroup = await self._create_cgroup()
                except OSError as error:
                    return refused(f"the run's cgroup could not be made: {error}")
                command, cwd, env, fds = await self._command(sandboxed, script, skill, res)
                outcome = await supervise(
                    command,
                    cwd=cwd,
                    env=env,
                    stdin=stdin,
                    pass_fds=fds.all(),
                    control=res.control_w,
                    cgroup=res.cgroup,
                    limits=limits,
                )
                stats = res.cgroup.stats() if res.cgroup is not None else None
                save = await store.save(res.result, seed) if not outcome.killed else None
            finally:
                await asyncio.shield(self._release(res))
        return compose(outcome, stats, save, limits, sandboxed=sandboxed)

    async def _create_cgroup(self) -> RunCgroup | None:
        if self.cgroups is None:
            return None
        limits = self.limits
        wanted = CgroupLimits(limits.memory_bytes, limits.max_procs + 3, limits.cpu_cores)
        return await asyncio.to_thread(self.cgroups.create, wanted)

    async def _command(
        self, sandboxed: bool, script: Script, skill: wsstream.Listing, res: RunResources
    ) -> tuple[list[str], Path | None, dict[str, str], RunFds]:
        uid = None
        if sandboxed and os.geteuid() == 0:
            uid = res.uid = self._take_uid()
        return await script_command(
            script,
            skill,
            res,
            sandboxed=sandboxed,
            limits=self.limits,
            code=self._code,
            seccomp=self._seccomp,
            bwrap=self.bwrap,
            uid=uid,
        )

    def _take_uid(self) -> int:
        while True:
            uid = SANDBOX_UID_BASE + random.randrange(SANDBOX_UID_SPAN)
            if uid not in self._uids:
                self._uids.add(uid)
                return uid

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Remove the run cgroups that were still busy when their run ended.

        Their processes were killed, but on a loaded machine the last ones
        can take longer to exit than a run waits; the start-up sweep only
        takes cgroups of a server that is gone, so a shutdown that left them
        would leave them until the next start.
        """
        cgroups = self.cgroups
        if cgroups is None or not cgroups.leftovers:
            return
        pending, cgroups.leftovers = cgroups.leftovers, []
        left = await asyncio.to_thread(
            lambda: [c for c in pending if not c.remove(timeout_s=timeout_s)]
        )
        if left:
            log.warning("%d run cgroup(s) could not be removed at shutdown", len(left))
        cgroups.leftovers.extend(left)

    async def _release(self, res: RunResources) -> None:
        cgroups, cgroup = self.cgroups, res.cgroup
        if cgroups is not None and cgroup is not None:
            # The list is only touched here, on the event loop; removal runs in a thread.
            pending, cgroups.leftovers = [*cgroups.leftovers, cgroup], []
            left = await asyncio.to_thread(_remove_all, pending)
            if left:
                log.warning("%d run cgroup(s) could not be removed yet", len(left))
            cgroups.leftovers.extend(left)
        if res.uid is not None:
            self._uids.discard(res.uid)
        if res.run_dir is not None:
            await asyncio.to_thread(remove_tree, res.run_dir)


def _remove_all(cgroups: list[RunCgroup]) -> list[RunCgroup]:
    """Remove each (the newest waits longest); the ones still busy."""
    *older, newest = cgroups
    left = [c for c in older if not c.remove(timeout_s=0.1)]
    return left if newest.remove() else [*left, newest]
