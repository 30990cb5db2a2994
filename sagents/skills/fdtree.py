"""Folder trees reached only through directory descriptors, never through a link.

Every access goes through descriptors opened with ``O_NOFOLLOW`` (``dir_fd=``
walks), so a symlink swapped in anywhere is never followed; depth never
costs recursion. The workspace stream (``wsstream.py``) walks and fills
trees with these, and the server removes trees a script could have shaped
with ``remove_tree``.

Like ``wsstream.py`` it also runs inside the sandbox (compiled, from
``/opt/sage``), so it uses the standard library only, and as little of it
as it can.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not ``typing``'s: the launcher's start-up does without typing
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_PATH_BYTES = 4096
MAX_DEPTH = 64
"""Folders nested deeper are dropped: deep trees cost every walk (and Python
3.11's ``shutil.rmtree`` recurses once per level)."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def walk(
    root_fd: int, exclude: frozenset[str] = frozenset(), skipped: dict[str, int] | None = None
) -> Iterator[tuple[str, bool, int | None]]:
    """(path, is_dir, open fd of a regular file) in pre-order, sorted; the
    caller closes each fd. Anything else (symlinks…) is counted in ``skipped``.

    Folders are reopened from the root for each visit (``open_dir``), so at
    most two folder descriptors are open at once however wide the tree. The
    contents of a folder at ``MAX_DEPTH`` are not visited (counted "too-deep").
    """
    if skipped is None:
        skipped = {}
    pending = [""]
    while pending:
        relative = pending.pop()
        fd = open_dir(root_fd, relative)
        try:
            subdirs = []
            for name in sorted(os.listdir(fd)):
                if not relative and name in exclude:
                    continue
                path = f"{relative}{name}"
                if len(os.fsencode(path)) > MAX_PATH_BYTES:
                    _count(skipped, "long-path")
                    continue
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    yield path, True, None
                    if path.count("/") + 1 < MAX_DEPTH:
                        subdirs.append(f"{path}/")
                    elif _has_entries(fd, name):
                        _count(skipped, "too-deep")
                elif stat.S_ISREG(info.st_mode):
                    file_fd = _open_regular(fd, name, info)
                    if file_fd is None:
                        _count(skipped, "unreadable")
                        continue
                    yield path, False, file_fd
                else:
                    _count(skipped, _kind(info.st_mode))
            pending.extend(reversed(subdirs))
        finally:
            os.close(fd)


def _has_entries(dir_fd: int, name: str) -> bool:
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        return bool(os.listdir(child))
    finally:
        os.close(child)


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete ``path`` and everything under it, never following a link, without
    recursion (Python 3.11's ``shutil.rmtree`` recurses once per level, so a
    deep enough tree would raise ``RecursionError``). A missing path is fine."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    fd = os.open(path, _DIR_FLAGS)
    try:
        empty_tree(fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def empty_tree(top: int) -> None:
    """Empty the folder ``top``: files are unlinked; each sub-folder is emptied
    of files and its own folders are moved up into ``top`` (so depth never
    matters), then removed. Only names under ``top`` are touched."""
    while names := os.listdir(top):
        for name in names:
            info = os.stat(name, dir_fd=top, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(name, dir_fd=top)
                continue
            sub = os.open(name, _DIR_FLAGS, dir_fd=top)
            try:
                for child in os.listdir(sub):
                    kind = os.stat(child, dir_fd=sub, follow_symlinks=False).st_mode
                    if stat.S_ISDIR(kind):
                        hoisted = f".rm-{os.urandom(8).hex()}"
                        os.rename(child, hoisted, src_dir_fd=sub, dst_dir_fd=top)
                    else:
                        os.unlink(child, dir_fd=sub)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=top)


def _open_regular(dir_fd: int, name: str, seen: os.stat_result) -> int | None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_ino != seen.st_ino:
        os.close(fd)  # swapped between the listing and the open
        return None
    return fd


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _count(skipped: dict[str, int], kind: str) -> None:
    skipped[kind] = skipped.get(kind, 0) + 1


def open_dir(root_fd: int, relative: str, *, create: bool = False) -> int:
    """Open ``relative`` (``a/b/`` or ``a/b``) under ``root_fd``, one part at a time.

    Each part is opened with ``O_NOFOLLOW | O_DIRECTORY``: a symlink or a
    file anywhere on the way is an error (``OSError``), never followed.
    With ``create``, missing folders are made (0755).
    """
    fd = os.dup(root_fd)
    try:
        for part in (p for p in relative.split("/") if p):
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
