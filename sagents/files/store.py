"""A session's files: the workspace its scripts and ``execute_python`` use,
as a person sees it (list, upload, download, delete).

The folder is ``<data_dir>/workspaces/<session_id>/`` (``SkillManager.workspace``)
and everything in it may have been written by a script: it is read and
written here under the same rules as the sandbox's own merge
(``sagents/skills/workspace_store.py``): every path is walked one part at a
time from the workspace's descriptor with ``O_NOFOLLOW``, a symlink or
anything but a regular file is never opened, an upload is written to a fresh
file under ``.staging/`` and renamed into place, and changes hold the
workspace's lock, so they never interleave with a script call's merge.
Uploads keep the workspace within what a sandbox can hold
(``SAGE_SKILL_WORKSPACE_MB`` and ``SAGE_SKILL_WORKSPACE_MAX_FILES``), or a
later script call could not start.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from sagents.files.media import guess
from sagents.skills import wsstream
from sagents.skills.fdtree import empty_tree, open_dir, walk
from sagents.skills.workspace import SkillWorkspace
from sagents.skills.workspace_store import (
    STAGING,
    current_size,
    ensure_dir,
    lstat_at,
    staging_name,
    workspace_usage,
)

T = TypeVar("T")
_ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_COPY_CHUNK = 1 << 20


class FileNotInWorkspace(LookupError):
    """No regular file at that path (missing, a folder, or a link: never followed)."""


class FileConflict(RuntimeError):
    """The upload's path runs through a file, or names a folder."""


class WorkspaceFull(RuntimeError):
    """The upload would take the workspace past its size or file-count limit."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int
    media_type: str
    modified: float
    """Seconds since the epoch."""


@dataclass(frozen=True, slots=True)
class Upload:
    path: str
    """Already checked (``sagents.files.names``)."""
    source: BinaryIO
    size: int


class SessionFiles:
    def __init__(self, root: Path, lock: asyncio.Lock, limits: wsstream.Limits) -> None:
        self.root = root
        self.lock = lock
        self.limits = limits

    @classmethod
    def of(cls, workspace: SkillWorkspace) -> SessionFiles:
        limits = workspace.sandbox.limits
        return cls(
            workspace.root,
            workspace.sandbox.workspace_lock(workspace.root),
            wsstream.Limits(limits.workspace_bytes, limits.workspace_max_files),
        )

    async def list(self) -> builtins.list[FileInfo]:
        """Every regular file, sorted by path (folders are implied by paths)."""
        return await self._locked(self._list)

    async def open(self, path: str) -> tuple[int, FileInfo]:
        """An open descriptor of the file at ``path`` (the caller closes it)
        and what it is; FileNotInWorkspace when there is no regular file."""
        return await asyncio.to_thread(self._open, path)

    async def put(self, uploads: builtins.list[Upload]) -> builtins.list[FileInfo]:
        """Store every upload (replacing files of the same path), or none of
        them: WorkspaceFull or FileConflict are raised before anything is written."""
        return await asyncio.shield(self._locked(self._put, uploads))

    async def delete(self, path: str) -> bool:
        """Delete the file (or folder, with what it holds) at ``path``; False if missing."""
        return await asyncio.shield(self._locked(self._delete, path))

    async def _locked(self, work: Callable[..., T], *args: object) -> T:
        async with self.lock:
            return await asyncio.to_thread(work, *args)

    def _root(self, *, create: bool) -> int | None:
        if create:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        try:
            return os.open(self.root, _ROOT_FLAGS)
        except FileNotFoundError:
            return None

    def _list(self) -> builtins.list[FileInfo]:
        root = self._root(create=False)
        if root is None:
            return []
        out: builtins.list[FileInfo] = []
        try:
            for path, is_dir, fd in walk(root):
                if fd is None or is_dir:
                    continue
                try:
                    info = os.fstat(fd)
                finally:
                    os.close(fd)
                out.append(FileInfo(path, info.st_size, guess(path), info.st_mtime))
        finally:
            os.close(root)
        return out

    def _open(self, path: str) -> tuple[int, FileInfo]:
        root = self._root(create=False)
        if root is None:
            raise FileNotInWorkspace(path)
        parent, _, name = path.rpartition("/")
        try:
            folder = open_dir(root, parent)
        except OSError:
            raise FileNotInWorkspace(path) from None
        finally:
            os.close(root)
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
        except OSError:
            raise FileNotInWorkspace(path) from None  # missing, or a link (ELOOP)
        finally:
            os.close(folder)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileNotInWorkspace(path)
        os.set_blocking(fd, True)
        return fd, FileInfo(path, info.st_size, guess(path), info.st_mtime)

    def _put(self, uploads: builtins.list[Upload]) -> builtins.list[FileInfo]:
        root = self._root(create=True)
        assert root is not None
        try:
            self._check(root, uploads)
            staging = self.root.parent / STAGING
            staging.mkdir(parents=True, exist_ok=True, mode=0o700)
            return [self._write(root, staging, upload) for upload in uploads]
        finally:
            os.close(root)

    def _check(self, root: int, uploads: builtins.list[Upload]) -> None:
        usage, entries = workspace_usage(root)
        new_dirs: set[str] = set()
        for upload in uploads:
            parts = upload.path.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                found = lstat_at(root, folder)
                if found is None:
                    new_dirs.add(folder)
                elif not stat.S_ISDIR(found.st_mode):
                    raise FileConflict(f"cannot write {upload.path!r}: {folder!r} is a file")
            existing = lstat_at(root, upload.path)
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise FileConflict(f"cannot write {upload.path!r}: it is a folder")
            usage += wsstream.rounded(upload.size) - current_size(root, upload.path)
            entries += existing is None
        entries += len(new_dirs)
        if usage > self.limits.max_bytes or entries > self.limits.max_entries:
            raise WorkspaceFull(
                f"the session's workspace would exceed its limits "
                f"({self.limits.max_bytes // (1024 * 1024)} MB, {self.limits.max_entries} "
                "files and folders); delete files first"
            )

    def _write(self, root: int, staging: Path, upload: Upload) -> FileInfo:
        temp = staging / staging_name("upload")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            upload.source.seek(0)
            while chunk := upload.source.read(_COPY_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        parent, _, name = upload.path.rpartition("/")
        folder = ensure_dir(root, parent)
        try:
            os.replace(temp, name, dst_dir_fd=folder)
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        finally:
            os.close(folder)
            temp.unlink(missing_ok=True)
        return FileInfo(upload.path, info.st_size, guess(upload.path), info.st_mtime)

    def _delete(self, path: str) -> bool:
        root = self._root(create=False)
        if root is None:
            return False
        parent, _, name = path.rpartition("/")
        try:
            folder = open_dir(root, parent)
        except OSError:
            return False
        finally:
            os.close(root)
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                sub = os.open(name, _ROOT_FLAGS, dir_fd=folder)
                try:
                    empty_tree(sub)
                finally:
                    os.close(sub)
                os.rmdir(name, dir_fd=folder)
            else:
                os.unlink(name, dir_fd=folder)  # a link is removed, never followed
            return True
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return False
            raise
        finally:
            os.close(folder)
