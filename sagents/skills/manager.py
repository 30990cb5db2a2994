"""SkillManager: the three layers of skills, per-user views, install and delete.

Layers, weakest first: the bundled ``skill_workspace/``, the installation's
``<data_dir>/skills`` and each user's ``<data_dir>/users/<key>/skills``. A
user's skill shadows a same-named one below it for that user only. Layers
are read from disk once and cached; installing or deleting through the
manager (the HTTP API does) drops the cache, so the next view sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import shutil
import uuid
from pathlib import Path

from sagents.settings import Settings
from sagents.skills.archive import extract_archive
from sagents.skills.format import (
    SKILL_FILE,
    Skill,
    SkillInvalid,
    check_name,
    load_skill_dir,
    parse_skill_text,
)
from sagents.skills.sandbox import Sandbox
from sagents.skills.view import SkillView
from sagents.skills.workspace import SkillWorkspace

log = logging.getLogger(__name__)

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
        self._shared: dict[str, Skill] | None = None
        self._users: dict[str, dict[str, Skill]] = {}
        self._lock = asyncio.Lock()
        self._probe: asyncio.Task[object] | None = None

    def start(self) -> None:
        """Probe the sandbox in the background, so start-up does not wait for it
        and the first script call usually finds the answer ready (a warning is
        logged at once if bubblewrap cannot run)."""
        if self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self.sandbox.probe())

    async def aclose(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe

    def user_dir(self, user_id: str) -> Path:
        return self.settings.data_dir / "users" / user_key(user_id) / "skills"

    async def for_user(self, user_id: str) -> SkillView:
        """The skills ``user_id`` can see right now (a snapshot)."""
        async with self._lock:
            if self._shared is None:
                self._shared = await asyncio.to_thread(self._load_shared)
            own = self._users.get(user_id)
            if own is None:
                own = await asyncio.to_thread(_load_layer, self.user_dir(user_id), "user")
                self._users[user_id] = own
            return SkillView(user_id=user_id, skills={**self._shared, **own})

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

    async def install(self, user_id: str, data: bytes, filename: str) -> Skill:
        """Install an uploaded .zip/.tar.gz as one of the user's skills.

        The archive is checked entry by entry before anything is written
        (``ArchiveRejected``), then extracted into a staging folder, validated
        as a skill (``SkillInvalid``), and only then moved into place; any
        failure removes the staging folder, so a rejected upload leaves
        nothing behind. A skill of the same name is replaced.
        """
        staging_root = self.settings.data_dir / "staging"
        staging = staging_root / uuid.uuid4().hex
        try:
            skill = await asyncio.to_thread(self._install_sync, user_id, data, filename, staging)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)
        async with self._lock:
            self._users.pop(user_id, None)
        return skill

    async def delete(self, user_id: str, name: str) -> None:
        """Delete one of the user's own skills; anyone else's is "not found"."""
        target = self.user_dir(user_id) / name
        own = (await self.for_user(user_id)).get(name)
        if own is None or own.origin != "user" or not (target / SKILL_FILE).is_file():
            raise SkillNotFound(name)
        await asyncio.to_thread(shutil.rmtree, target)
        async with self._lock:
            self._users.pop(user_id, None)

    def _install_sync(self, user_id: str, data: bytes, filename: str, staging: Path) -> Skill:
        limits = self.settings
        root = extract_archive(
            data,
            filename,
            staging,
            max_bytes=limits.skill_upload_max_bytes,
            max_files=limits.skill_upload_max_files,
        )
        if root.name == "_root":
            root = _name_root_folder(root)
        skill = load_skill_dir(root, origin="user")
        dest_dir = self.user_dir(user_id)
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / skill.name
        # Move in place, then swap: a reader never sees a half-written skill.
        incoming = dest_dir / f".incoming-{uuid.uuid4().hex}"
        shutil.move(str(root), incoming)
        if dest.exists():
            old = dest_dir / f".old-{uuid.uuid4().hex}"
            dest.rename(old)
            incoming.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            incoming.rename(dest)
        return load_skill_dir(dest, origin="user")

    def _load_shared(self) -> dict[str, Skill]:
        bundled = _load_layer(self.bundled_dir, "bundled") if self.bundled_dir else {}
        return {**bundled, **_load_layer(self.installation_dir, "installation")}


def _name_root_folder(root: Path) -> Path:
    """Give a root-level SKILL.md's folder the skill's name, when it has a valid one."""
    try:
        data, _, _ = parse_skill_text((root / SKILL_FILE).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return root
    name = data.get("name")
    if isinstance(name, str) and not check_name(name, SKILL_FILE, None):
        return root.rename(root.parent / name)
    return root


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
