"""SkillManager: the three layers of skills, per-user views, install and delete.

Layers, weakest first: the bundled ``skill_workspace/``, the installation's
``<data_dir>/skills`` and each user's ``<data_dir>/users/<key>/skills``. A
user's skill shadows a same-named one below it for that user only. Layers
are read from disk once and cached; installing or deleting through the
manager (the HTTP API does) drops the cache, so the next view sees it.

A skill's requirements (``requirements.txt``) are installed by
``SkillEnvironments``: during an upload, before the skill is moved into
place (a failure refuses that skill, with pip's reason, and leaves any
earlier version alone); for a skill found on disk without its packages (a
bundled skill at the first start, or after Sage's Python changed), in the
background, the skill being listed as ``installing`` and not offered to
runs until its packages are ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import re
import shutil
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sagents.settings import Settings
from sagents.skills.archive import ArchiveLimits, unpack_archive
from sagents.skills.environments import SkillEnvironments
from sagents.skills.format import NAME_PATTERN, SKILL_FILE, Skill, SkillInvalid, load_skill_dir
from sagents.skills.installer import InstallResult, check_unpacked, commit, with_environment
from sagents.skills.requirements import SkillEnvironment
from sagents.skills.sandbox import Sandbox
from sagents.skills.view import SkillView
from sagents.skills.workspace import SkillWorkspace

log = logging.getLogger(__name__)

T = TypeVar("T")

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class SkillNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"skill '{name}' not found")
        self.name = name


def find_bundled_dir(settings: Settings) -> Path | None:
    """The bundled skills: the setting, else ``skill_workspace/`` at the repo root.

    The repository root is found from this file (an editable or source
    install) and then from the working directory, so ``sage serve`` run from
    a checkout finds the skills either way.
    """
    if settings.skills_bundled_dir is not None:
        return settings.skills_bundled_dir
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base / "skill_workspace"
        if candidate.is_dir():
            return candidate
    return None


def user_key(user_id: str) -> str:
    """A filesystem-safe, fixed-length folder name for a user id.

    User ids come from configuration but are never used as paths directly:
    hashing removes any chance of ``..`` or separators in a folder name.
    """
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]


class SkillManager:
    def __init__(self, settings: Settings, sandbox: Sandbox | None = None) -> None:
        self.settings = settings
        self.bundled_dir = find_bundled_dir(settings)
        self.installation_dir = settings.data_dir / "skills"
        self.sandbox = sandbox or Sandbox.from_settings(settings)
        self.environments = SkillEnvironments.from_settings(settings)
        self._shared: dict[str, Skill] | None = None
        self._users: dict[str, dict[str, Skill]] = {}
        self.staging_root = settings.data_dir / "staging"
        self._lock = asyncio.Lock()
        self._probe: asyncio.Task[object] | None = None
        self._running: set[asyncio.Task[Any]] = set()
        self._pending_installs: set[str] = set()
        self._background_installs: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Probe the sandbox in the background, so start-up does not wait for it
        and the first script call usually finds the answer ready (a warning is
        logged at once if bubblewrap cannot run). Staging folders left by a
        crash are removed in the background too (the data directory has one
        server process, so none of them is in use)."""
        if self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self.sandbox.probe())
            if self.staging_root.is_dir():
                leftovers = list(self.staging_root.iterdir())
                if leftovers:
                    self._run_in_background(asyncio.to_thread(_sweep, leftovers))
            self._run_in_background(asyncio.to_thread(self._sweep_environments))

    def _run_in_background(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task the manager keeps (the loop holds only weak references) and
        ``aclose`` waits for."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        task.add_done_callback(_consume_error)
        return task

    async def aclose(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        # A pip run can take minutes: stop it (its staging folder is removed)
        # rather than hold the shutdown; the next start installs again.
        for task in list(self._background_installs):
            task.cancel()
        await self.environments.aclose()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        await self.sandbox.aclose()

    def user_dir(self, user_id: str) -> Path:
        return self.settings.data_dir / "users" / user_key(user_id) / "skills"

    async def for_user(self, user_id: str) -> SkillView:
        """The skills ``user_id`` can see right now (a snapshot)."""
        async with self._lock:
            if self._shared is None:
                self._shared = self._attach(await asyncio.to_thread(self._load_shared))
            own = self._users.get(user_id)
            if own is None:
                loaded = await asyncio.to_thread(self._load_layer, self.user_dir(user_id), "user")
                own = self._users[user_id] = self._attach(loaded)
            return SkillView(user_id=user_id, skills={**self._shared, **own})

    def _attach(self, skills: dict[str, Skill]) -> dict[str, Skill]:
        """Start installing the requirements found missing (on the loop)."""
        out = {}
        for name, skill in skills.items():
            if skill.requirements and skill.environment is None:
                self._install_in_background(skill.requirements)
                skill = dataclasses.replace(skill, environment=SkillEnvironment("installing"))
            out[name] = skill
        return out

    def _install_in_background(self, requirements: tuple[str, ...]) -> None:
        async def install() -> None:
            await self.environments.ensure(requirements)
            await self.reload()  # the next view sees it ready, or failed

        key = self.environments.key(requirements)
        if key not in self._pending_installs:
            self._pending_installs.add(key)
            task = self._run_in_background(install())
            self._background_installs.add(task)
            task.add_done_callback(self._background_installs.discard)
            task.add_done_callback(lambda _t: self._pending_installs.discard(key))

    async def reload(self) -> None:
        """Forget every cached layer (after editing skill folders by hand)."""
        async with self._lock:
            self._shared = None
            self._users.clear()

    def workspace(self, session_id: str) -> SkillWorkspace:
        """The per-session workspace where skill scripts run."""
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError(f"invalid session id for a workspace: {session_id!r}")
        root = self.settings.data_dir / "workspaces" / session_id
        return SkillWorkspace(root=root, sandbox=self.sandbox)

    async def install(self, user_id: str, data: bytes, filename: str) -> list[InstallResult]:
        """Install every skill of an uploaded .zip/.tar.gz as the user's own.

        Raises ``ArchiveRejected`` when the archive itself is unsafe or
        malformed (nothing is installed). Otherwise returns one result per
        skill found: the valid ones are installed, each replacing the user's
        skill of that name, and the invalid ones say why. The work runs to
        its end even when the caller is cancelled, so a half-done install
        never leaves folders behind (see ``_run_to_end``).
        """
        return await self._run_to_end(self._install(user_id, data, filename))

    async def _install(self, user_id: str, data: bytes, filename: str) -> list[InstallResult]:
        staging = self.staging_root / uuid.uuid4().hex
        limits = ArchiveLimits(
            max_bytes=self.settings.skill_upload_max_bytes,
            max_files=self.settings.skill_upload_max_files,
        )
        try:
            unpacked = await asyncio.to_thread(unpack_archive, data, filename, staging, limits)
            checked = await asyncio.to_thread(check_unpacked, unpacked)
            checked = [await self._install_requirements(result) for result in checked]
            if not any(r.ok for r in checked):
                return checked
            # The lock readers hold while loading a layer: no view is built
            # between the two renames of a replacement, and two uploads of
            # one name replace each other whole, one after the other.
            async with self._lock:
                try:
                    return await asyncio.to_thread(
                        commit, checked, self.user_dir(user_id), staging / "replaced"
                    )
                finally:
                    self._users.pop(user_id, None)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    async def _install_requirements(self, result: InstallResult) -> InstallResult:
        """Install a valid uploaded skill's requirements; refuse it when that fails."""
        if result.skill is None or not result.skill.requirements:
            return result
        environment = await self.environments.ensure(result.skill.requirements, retry_failed=True)
        return with_environment(result, environment)

    async def delete(self, user_id: str, name: str) -> None:
        """Delete one of the user's own skills; anyone else's is "not found"."""
        await self._run_to_end(self._delete(user_id, name))

    async def _delete(self, user_id: str, name: str) -> None:
        if not NAME_PATTERN.fullmatch(name):
            raise SkillNotFound(name)
        target = self.user_dir(user_id) / name
        trash = self.staging_root / uuid.uuid4().hex
        async with self._lock:
            if not (target / SKILL_FILE).is_file() or target.is_symlink():
                raise SkillNotFound(name)
            trash.mkdir(parents=True)
            target.rename(trash / name)
            self._users.pop(user_id, None)
        await asyncio.to_thread(shutil.rmtree, trash, True)

    async def _run_to_end(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` in its own task that a cancelled caller does not stop.

        Installing moves folders between staging and the user's folder and
        cleans up in ``finally``; cancelled half-way (a client gone, a
        shutdown), the cleanup could race a rename still running in its
        worker thread. Shielded, the task finishes (and cleans up) on its
        own; ``aclose`` waits for such tasks.
        """
        return await asyncio.shield(self._run_in_background(work))

    def _load_shared(self) -> dict[str, Skill]:
        bundled = self._load_layer(self.bundled_dir, "bundled") if self.bundled_dir else {}
        return {**bundled, **self._load_layer(self.installation_dir, "installation")}

    def _load_layer(self, directory: Path, origin: str) -> dict[str, Skill]:
        """Blocking. A layer's skills, each with its requirements' state."""
        skills = _load_layer(directory, origin)
        for name, skill in skills.items():
            if skill.requirements:
                state = self.environments.state(skill.requirements)
                skills[name] = dataclasses.replace(skill, environment=state)
        return skills

    def _sweep_environments(self) -> None:
        """Blocking. Remove installed requirements no skill on disk declares."""
        layers = [self.installation_dir, *(p for p in [self.bundled_dir] if p is not None)]
        users = self.settings.data_dir / "users"
        if users.is_dir():
            layers += [user / "skills" for user in users.iterdir()]
        keep = [s.requirements for layer in layers for s in _load_layer(layer, "").values()]
        removed = self.environments.sweep(keep)
        if removed:
            log.info("removed %d unused skill requirement folder(s)", len(removed))


def _consume_error(task: asyncio.Task[Any]) -> None:
    """Mark a shielded task's error as seen: its caller may be gone."""
    if not task.cancelled():
        task.exception()


def _sweep(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _load_layer(directory: Path, origin: str) -> dict[str, Skill]:
    """Every valid skill directly under ``directory``; invalid ones are logged."""
    if not directory.is_dir():
        return {}
    skills: dict[str, Skill] = {}
    for child in sorted(directory.iterdir()):
        if not child.is_dir() or child.name.startswith(".") or child.is_symlink():
            continue
        try:
            skill = load_skill_dir(child, origin)
        except SkillInvalid as invalid:
            log.warning("skipping invalid %s skill %s: %s", origin, child, invalid)
            continue
        skills[skill.name] = skill
    return skills
