"""One process per data directory: an exclusive lock on ``<data_dir>/sage.lock``.

The embedded store assumes a single owner. Its start-up recovery marks every
run it finds ``running`` as interrupted; a second server on the same SQLite
file would do that to the first server's live runs, and both would append to
the same sessions. The rest of the data directory (MCP registry, pending
memory jobs, skills) is written the same way. So a Runtime that opens the
embedded store first takes this lock, and a second one is refused at start
with a message naming the process that holds it.

``flock`` rather than a pid file: the kernel drops the lock when the holding
process dies, however it dies (kill -9 included), so there is never a stale
lock to clean up, and no pid can be mistaken for a live owner after reuse.
The pid written into the file is only for the message. The file is never
deleted: unlinking it while another process has it open would let two
processes each lock a different inode of the same name.

The descriptor is opened close-on-exec (Python's default), so child
processes (MCP servers, sandboxed scripts) do not inherit it and cannot keep
the lock alive after the server is gone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "sage.lock"


class DataDirInUse(RuntimeError):
    """Another process owns the data directory."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        holder = f"another Sage process (pid {pid})" if pid else "another Sage process"
        super().__init__(
            f"The Sage data directory {data_dir} is in use by {holder}; one server owns a"
            " data directory. Talk to the running server instead (`sage chat` without"
            " --local, or its HTTP API), stop it first, or set SAGE_DATA_DIR to another"
            " directory."
        )
        self.data_dir = data_dir
        self.pid = pid


class DataDirLock:
    """A held lock; :meth:`release` (or the process ending) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Take the lock without waiting, or raise :class:`DataDirInUse`.

        Blocking file I/O (a few microseconds); async callers run it in a
        worker thread.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DataDirInUse(data_dir, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)  # closing the descriptor releases the lock
            raise
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up; safe to call twice. The pid stays in the file
        (harmless: only a held lock makes it meaningful)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
