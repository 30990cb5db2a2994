"""A session's persisted workspace: written by the server only, never by a script.

``<data_dir>/workspaces/<session_id>/`` holds what the session's scripts
left, across calls. No sandbox ever mounts it. Before a call, ``snapshot``
streams it to the launcher; after, ``save`` reads the launcher's stream as
hostile input into a fresh folder under ``.staging/`` (regular files and
folders only, sizes and counts capped, nothing followed) and merges it in.

Several calls of one session can run at once; each starts from the
workspace as it was when it started, and its changes are merged file by
file when it ends: files it created or changed replace what is there
(the call that ends later wins a file both changed), files it deleted are
deleted unless another call changed them meanwhile. Snapshot and merge
hold a per-workspace lock; the scripts themselves run in parallel.

Every operation on the folder goes through descriptors opened with
``O_NOFOLLOW`` (``fdtree.open_dir``), so even a symlink left in a
workspace by an older version of Sage is never followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from sagents.skills import wsstream
from sagents.skills.cgroups import process_alive
from sagents.skills.fdtree import empty_tree, open_dir, remove_tree, walk
from sagents.skills.wsstream import Entry, Listing

log = logging.getLogger(__name__)
T = TypeVar("T")
STAGING = ".staging"
_ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkspaceTooLarge(RuntimeError):
    """The saved workspace does not fit in a sandbox's workspace any more."""


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    saved: bool
    reason: str | None = None
    """Why the call's file changes were not kept."""
    full: bool = False
    skipped: dict[str, int] = field(default_factory=dict)
    status: dict[str, object] = field(default_factory=dict)
    """The launcher's status record (its ``exit`` is the script's exit code)."""
    empty: bool = False
    """The launcher wrote nothing at all: it (or bubblewrap) failed before the script."""
    written: tuple[tuple[str, int], ...] = ()
    """(path, size) of each file the call created or changed, as merged."""


class WorkspaceStore:
    def __init__(self, root: Path, lock: asyncio.Lock, limits: wsstream.Limits) -> None:
        self.root = root
        self.lock = lock
        self.limits = limits

    async def snapshot(self, out: BinaryIO) -> Listing:
        """Stream the workspace into the file ``out`` (the caller rewinds it).

        A file rather than a pipe to the launcher: the lock is held while the
        stream is written, and a pipe would hold it until the launcher has
        started and read it, so calls of one session would start one by one.
        """
        return await asyncio.shield(self._locked(self._snapshot, out))

    async def save(self, result: BinaryIO, seed: Listing) -> SaveOutcome:
        """Read the launcher's ``result`` stream and merge it (see the module doc).

        Shielded: once started, a save finishes even if the call is cancelled,
        so the lock is never released while files are being moved. A
        cancelled caller waits for that end before the cancel goes on: what
        it removes on its way out (a probe's temporary folder, holding the
        workspace and its staging) must not be removed under the save. Saves
        run only after a script ended by itself, so the wait is one merge.
        """
        task = asyncio.ensure_future(self._save(result, seed))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # seen: the cancel, not this, is what goes on
            raise

    async def delete(self) -> None:
        """Remove the workspace folder (never following a link, however deep)."""
        await asyncio.shield(self._locked(self._delete))

    async def _locked(self, work: Callable[..., T], *args: object) -> T:
        async with self.lock:
            return await asyncio.to_thread(work, *args)

    async def _save(self, result: BinaryIO, seed: Listing) -> SaveOutcome:
        staging = self.root.parent / STAGING / staging_name()
        try:
            unpacked = await asyncio.to_thread(self._unpack, result, staging)
            if isinstance(unpacked, SaveOutcome):
                return unpacked
            return await self._locked(self._merge, staging, unpacked, seed)
        finally:
            await asyncio.to_thread(_remove_quietly, staging)

    def _snapshot(self, out: BinaryIO) -> Listing:
        writer = wsstream.Writer(out, self.limits)
        fd = self._open_root(create=False)
        if fd is not None:
            try:
                writer.add_tree(fd)
            except wsstream.LimitExceeded as error:
                raise WorkspaceTooLarge(
                    f"the session's workspace is over the sandbox's limits ({error}); "
                    "delete files from it or start a new session"
                ) from None
            finally:
                os.close(fd)
        writer.end()
        return writer.listing

    def _unpack(self, result: BinaryIO, staging: Path) -> Listing | SaveOutcome:
        bound = self.limits.max_bytes + 1024 * (self.limits.max_entries + 64) + 65_536
        result.flush()
        size = os.fstat(result.fileno()).st_size
        if size == 0:
            return SaveOutcome(False, "the sandbox wrote no result", empty=True)
        if size > bound:
            return SaveOutcome(False, "the sandbox's result is larger than the workspace limit")
        result.seek(0)
        staging.mkdir(parents=True, mode=0o700)
        fd = os.open(staging, _ROOT_FLAGS)
        try:
            listing = wsstream.read_stream(result, fd, self.limits)
        except wsstream.LimitExceeded as error:
            return SaveOutcome(False, f"the workspace is over its limits ({error})")
        except (wsstream.StreamError, OSError) as error:
            return SaveOutcome(False, f"the sandbox's result could not be read ({error})")
        finally:
            os.close(fd)
        status = listing.status or {}
        skipped = _skipped(status)
        if status.get("full"):
            reason = (
                f"the workspace limit of {self.limits.max_bytes // (1024 * 1024)} MB was reached"
            )
            return SaveOutcome(False, reason, full=True, skipped=skipped, status=status)
        if not status.get("saved"):
            reason = str(status.get("error") or "the sandbox ended without saving the workspace")
            return SaveOutcome(False, reason, skipped=skipped, status=status)
        return listing

    def _merge(self, staging: Path, out: Listing, seed: Listing) -> SaveOutcome:
        status = out.status or {}
        skipped = _skipped(status)
        changed = [e for e in out.entries.values() if not (e.is_dir or e.unchanged)]
        new_dirs = [
            e.path
            for e in out.entries.values()
            if e.is_dir and not (e.path in seed.entries and seed.entries[e.path].is_dir)
        ]
        # A "U" for a path that was no file of the seed keeps nothing: it is dropped.
        removed = [s for s in seed.entries.values() if not _kept(s, out.entries.get(s.path))]
        root = self._open_root(create=True)
        assert root is not None
        source = os.open(staging, _ROOT_FLAGS)
        try:
            problem = self._over_limits(root, changed, new_dirs, removed)
            if problem is not None:
                return SaveOutcome(False, problem, skipped=skipped, status=status)
            for entry in removed:
                if not entry.is_dir:
                    _remove_if_unchanged(root, entry)
            for path in sorted(new_dirs):
                os.close(ensure_dir(root, path))
            for entry in changed:
                _move_in(source, root, entry.path)
            for entry in sorted(removed, key=lambda e: e.path.count("/"), reverse=True):
                if entry.is_dir:
                    _rmdir_if_empty(root, entry.path)
        finally:
            os.close(source)
            os.close(root)
        written = tuple((e.path, e.size) for e in changed)
        return SaveOutcome(True, skipped=skipped, status=status, written=written)

    def _over_limits(
        self, root: int, changed: list[Entry], new_dirs: list[str], removed: list[Entry]
    ) -> str | None:
        usage, entries = workspace_usage(root)
        for entry in changed:
            usage += wsstream.rounded(entry.size) - current_size(root, entry.path)
            entries += lstat_at(root, entry.path) is None
        for entry in removed:
            if not entry.is_dir:
                usage -= current_size(root, entry.path)
        entries += len(new_dirs) - len(removed)
        if usage > self.limits.max_bytes or entries > self.limits.max_entries:
            return (
                "together with what other calls saved meanwhile, the workspace would exceed "
                f"its limits ({self.limits.max_bytes // (1024 * 1024)} MB, "
                f"{self.limits.max_entries} files)"
            )
        return None

    def _delete(self) -> None:
        remove_tree(self.root)

    def _open_root(self, *, create: bool) -> int | None:
        if create:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.root, 0o755)
        try:
            return os.open(self.root, _ROOT_FLAGS)
        except FileNotFoundError:
            if create:
                raise
            return None


def staging_name(kind: str = "save") -> str:
    """A fresh name under ``.staging/``, led by this server's pid (see ``sweep_staging``)."""
    return f"{os.getpid()}-{kind}-{uuid.uuid4().hex}"


def sweep_staging(staging: Path) -> int:
    """Remove what a server that is gone (a crash) left in ``staging``; how many.

    The one-owner rule keeps two live servers off one data directory, but
    the pid check also keeps a live server's own entries.
    """
    removed = 0
    try:
        entries = os.listdir(staging)
    except FileNotFoundError:
        return 0
    for entry in entries:
        owner = entry.split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or process_alive(int(owner)):
            continue
        _remove_quietly(staging / entry)
        removed += 1
    return removed


def _remove_quietly(path: Path) -> None:
    try:
        remove_tree(path)
    except OSError as error:
        log.warning("could not remove %s: %s", path, error)


def _skipped(status: dict[str, object]) -> dict[str, int]:
    raw = status.get("skipped")
    if not isinstance(raw, dict):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, int) and v > 0}


def _kept(before: Entry, after: Entry | None) -> bool:
    """Whether a seed entry is still there after the call (changed or not)."""
    return after is not None and (after.is_dir == before.is_dir or not after.unchanged)


def lstat_at(root: int, path: str) -> os.stat_result | None:
    parent, _, name = path.rpartition("/")
    try:
        fd = open_dir(root, parent)
    except OSError:
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


def current_size(root: int, path: str) -> int:
    info = lstat_at(root, path)
    if info is None or not stat.S_ISREG(info.st_mode):
        return 0
    return wsstream.rounded(info.st_size)


def workspace_usage(root: int) -> tuple[int, int]:
    """(page-rounded bytes, entries) of the workspace now."""
    usage = entries = 0
    for _, _, fd in walk(root):
        entries += 1
        if fd is not None:
            usage += wsstream.rounded(os.fstat(fd).st_size)
            os.close(fd)
    return usage, entries


def _remove_if_unchanged(root: int, entry: Entry) -> None:
    info = lstat_at(root, entry.path)
    if info is None or not stat.S_ISREG(info.st_mode):
        return
    if (info.st_ino, info.st_size, info.st_mtime_ns) != entry.ident:
        return  # another call wrote it meanwhile: its version stays
    parent, _, name = entry.path.rpartition("/")
    try:
        fd = open_dir(root, parent)
    except OSError:
        return
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)


def ensure_dir(root: int, path: str) -> int:
    """Open folder ``path``, making it (and replacing a file or link in the way)."""
    fd = os.dup(root)
    try:
        for part in (p for p in path.split("/") if p):
            try:
                child = os.open(part, _ROOT_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _ROOT_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise
                os.unlink(part, dir_fd=fd)  # a file or symlink: removed, never followed
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _ROOT_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _move_in(source: int, root: int, path: str) -> None:
    parent, _, name = path.rpartition("/")
    src = open_dir(source, parent)
    try:
        dst = ensure_dir(root, parent)
        try:
            try:
                os.replace(name, name, src_dir_fd=src, dst_dir_fd=dst)
            except IsADirectoryError:  # a folder where the call now has a file
                folder = os.open(name, _ROOT_FLAGS, dir_fd=dst)
                try:
                    empty_tree(folder)
                finally:
                    os.close(folder)
                os.rmdir(name, dir_fd=dst)
                os.replace(name, name, src_dir_fd=src, dst_dir_fd=dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _rmdir_if_empty(root: int, path: str) -> None:
    parent, _, name = path.rpartition("/")
    try:
        fd = open_dir(root, parent)
    except OSError:
        return
    try:
        os.rmdir(name, dir_fd=fd)
    except OSError:
        pass  # not empty (another call's files), or gone
    finally:
        os.close(fd)
