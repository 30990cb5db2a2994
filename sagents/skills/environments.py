"""Installed skill requirements: one read-only folder per distinct set.

``<data_dir>/skill-envs/<key>/site-packages`` holds what pip installed for
one list of requirements; ``key`` is a hash of that list and of the
interpreter's ABI (``SOABI``), so a skill finds its folder from what it
declares, and a new Python version builds new folders. Skills that declare
the same requirements share one folder, whichever user installed them:
the folder is made only by pip from the index the server uses, it is
mounted read-only into the sandbox, and the requirement lines are all a
user controls, so two identical declarations can only ever produce what
either would have got alone (a later install of an unpinned requirement
reuses the earlier versions; pin a version to get another folder). Nothing
a script does can write there.

A folder appears whole or not at all: it is built under ``.staging`` and
renamed into place. Builds of one key are shared by everyone waiting for
it, and one build runs at a time (pip is heavy; the machine is shared). A
build that failed is remembered (``failed``) until the next explicit
install or restart, so a broken bundled skill is not retried at every
listing. Folders no skill refers to any more are removed at start-up
(``sweep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from sagents.settings import Settings
from sagents.skills.pip_install import PipOptions, pip_install, tree_bytes
from sagents.skills.requirements import SkillEnvironment

log = logging.getLogger(__name__)

STAGING = ".staging"
MARKER = "environment.json"
SITE = "site-packages"
SWEEP_MIN_AGE_S = 3600.0
"""A folder younger than this is never swept: an upload may have just built
it and not yet moved its skill into place."""


def interpreter_tag() -> str:
    """What a built folder is only valid for: this interpreter's ABI and platform."""
    abi = sysconfig.get_config_var("SOABI") or sys.implementation.cache_tag or "unknown"
    return f"{abi}-{sysconfig.get_platform()}"


class SkillEnvironments:
    """The folders of installed requirements under one data directory."""

    def __init__(self, root: Path, options: PipOptions, *, enabled: bool = True) -> None:
        self.root = root
        self.options = options
        self.enabled = enabled
        self._building: dict[str, asyncio.Task[SkillEnvironment]] = {}
        self._failed: dict[str, str] = {}
        self._slot = asyncio.Semaphore(1)

    @classmethod
    def from_settings(cls, settings: Settings) -> SkillEnvironments:
        options = PipOptions(
            index_url=settings.skill_deps_index_url,
            find_links=tuple(settings.skill_deps_find_links),
            no_index=settings.skill_deps_no_index,
            timeout_s=settings.skill_deps_timeout_s,
            max_bytes=settings.skill_deps_max_mb * 1024 * 1024,
        )
        return cls(settings.data_dir / "skill-envs", options, enabled=settings.skill_deps_install)

    @staticmethod
    def key(requirements: Sequence[str]) -> str:
        text = json.dumps([interpreter_tag(), list(requirements)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def site_packages(self, requirements: Sequence[str]) -> Path:
        return self.root / self.key(requirements) / SITE

    def state(self, requirements: Sequence[str]) -> SkillEnvironment | None:
        """Blocking (a stat). The known state, or None: not built and not being built."""
        key = self.key(requirements)
        if (self.root / key / MARKER).is_file():
            return SkillEnvironment("ready", self.root / key / SITE)
        if key in self._building:
            return SkillEnvironment("installing")
        if key in self._failed:
            return SkillEnvironment("failed", error=self._failed[key])
        if not self.enabled:
            return SkillEnvironment("disabled")
        return None

    async def ensure(
        self, requirements: Sequence[str], *, retry_failed: bool = False
    ) -> SkillEnvironment:
        """The folder for ``requirements``, built now when it does not exist.

        Never raises for pip's failures: they come back as ``failed`` with
        pip's reason. The build runs in its own task, so a cancelled caller
        neither stops it half-way nor leaves its staging folder behind.
        """
        key = self.key(requirements)
        if retry_failed:
            self._failed.pop(key, None)
        known = await asyncio.to_thread(self.state, requirements)
        if known is not None and known.status != "installing":
            return known
        task = self._building.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._build(key, tuple(requirements)))
            self._building[key] = task
            task.add_done_callback(lambda _t: self._building.pop(key, None))
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        """Stop the builds under way (pip is killed, staging removed)."""
        tasks = list(self._building.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _build(self, key: str, requirements: tuple[str, ...]) -> SkillEnvironment:
        async with self._slot:
            final = self.root / key
            if (final / MARKER).is_file():
                return SkillEnvironment("ready", final / SITE)
            work = self.root / STAGING / uuid.uuid4().hex
            await asyncio.to_thread(work.mkdir, parents=True, mode=0o755)
            try:
                log.info("installing skill requirements %s", ", ".join(requirements))
                started = time.monotonic()
                outcome = await pip_install(requirements, work / SITE, work, self.options)
                if not outcome.ok:
                    log.warning(
                        "skill requirements %s: %s\n%s",
                        ", ".join(requirements),
                        outcome.reason,
                        outcome.output[-4000:],
                    )
                    self._failed[key] = outcome.reason
                    return SkillEnvironment("failed", error=outcome.reason)
                elapsed = time.monotonic() - started
                try:
                    await asyncio.to_thread(_finish, work, final, requirements, elapsed)
                except OSError as error:
                    reason = f"the installed packages could not be kept: {error}"
                    self._failed[key] = reason
                    return SkillEnvironment("failed", error=reason)
                log.info("installed skill requirements into %s in %.1f s", final, elapsed)
                return SkillEnvironment("ready", final / SITE)
            finally:
                await asyncio.to_thread(shutil.rmtree, work, True)

    def sweep(self, keep: Iterable[Sequence[str]]) -> list[str]:
        """Blocking. Remove folders no requirement list in ``keep`` maps to
        (and staging leftovers of a crash); the keys removed."""
        if not self.root.is_dir():
            return []
        wanted = {self.key(requirements) for requirements in keep}
        removed = []
        now = time.time()
        for child in self.root.iterdir():
            if child.name == STAGING:
                for leftover in child.iterdir():
                    shutil.rmtree(leftover, ignore_errors=True)
                continue
            if child.name in wanted or child.is_symlink() or not child.is_dir():
                continue
            with contextlib.suppress(OSError):
                if now - child.stat().st_mtime < SWEEP_MIN_AGE_S:
                    continue
                shutil.rmtree(child)
                removed.append(child.name)
        return removed


def _finish(work: Path, final: Path, requirements: tuple[str, ...], elapsed: float) -> None:
    """Record what was built, drop pip's leftovers and move the folder into place."""
    for leftover in ("tmp", "requirements.txt"):
        path = work / leftover
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    site = work / SITE
    site.mkdir(exist_ok=True)  # requirements that resolve to nothing (markers)
    record = {
        "requirements": list(requirements),
        "interpreter": interpreter_tag(),
        "python": sys.version.split()[0],
        "bytes": tree_bytes(site),
        "seconds": round(elapsed, 2),
        "built_at": time.time(),
    }
    (work / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    try:
        work.rename(final)
    except OSError:
        if not (final / MARKER).is_file():
            raise
        # Built by another process meanwhile (the data directory has one
        # owner, so only a crash-restart could); theirs is as good.
