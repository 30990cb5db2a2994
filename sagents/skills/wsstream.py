"""The workspace stream: the only way files cross the sandbox's boundary.

A script's workspace is a size-capped tmpfs inside the sandbox. The server
never mounts, walks or copies a directory a script could have touched:
files go in as a stream the launcher unpacks, and come out as a stream the
server unpacks as hostile input into a fresh directory of its own.

Why not tar: ``tarfile`` reads PAX and GNU extension headers whole into
memory, knows links, devices and sparse files, and needs a filter to be
safe; this format has five record kinds, fixed-size headers and limits
checked before anything is read or written, which is easy to prove safe.
It must also run inside the sandbox, so it uses the standard library only
(the launcher loads this file, and ``fdtree.py``, from ``/opt/sage``).

Records, after the magic line: ``D`` a folder, ``F`` a regular file with its
bytes, ``U`` a file left as it was unpacked (the launcher's way of not
sending back what the script did not touch; only a path, so a false ``U``
can only keep the server's own copy), ``S`` a JSON status (from the
launcher), ``E`` the end. A folder comes before everything inside it.
Paths are relative, ``/``-separated, without ``.``/``..`` or empty parts.
Only regular files and folders exist in the format: symlinks, FIFOs,
sockets and devices are skipped (and counted) when writing and cannot be
expressed when reading.

Every filesystem access goes through directory file descriptors opened
with ``O_NOFOLLOW`` (``dir_fd=`` walks, ``fdtree.py``), so a symlink swapped
in anywhere is never followed, on either side.
"""

from __future__ import annotations

import os
import struct

TYPE_CHECKING = False  # not ``typing``'s: the launcher's start-up does without typing
if TYPE_CHECKING:
    from typing import BinaryIO
if TYPE_CHECKING or __package__:
    from sagents.skills.fdtree import MAX_DEPTH as MAX_DEPTH
    from sagents.skills.fdtree import MAX_PATH_BYTES as MAX_PATH_BYTES
    from sagents.skills.fdtree import open_dir, walk
else:  # inside the sandbox (and the unsandboxed launcher): the file beside this one
    from fdtree import MAX_DEPTH, MAX_PATH_BYTES, open_dir, walk

MAGIC = b"SAGEWS1\n"
MAX_NAME_BYTES = 255
MAX_STATUS_BYTES = 65_536
PAGE = 4096
_CHUNK = 1 << 20
_HEAD = struct.Struct(">cH")  # kind, path length
_META = struct.Struct(">?q")  # executable, mtime in ns
_SIZE = struct.Struct(">Q")
_STATUS = struct.Struct(">I")


class StreamError(ValueError):
    """The stream is malformed or over a limit; nothing of it may be used."""


class LimitExceeded(StreamError):
    """Too many entries or bytes."""


# Plain classes rather than dataclasses: ``dataclasses`` pulls in ``inspect``,
# a large part of the launcher's start-up time.


class Limits:
    __slots__ = ("max_bytes", "max_entries")

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        """Total of the files' sizes, each rounded up to a page (what tmpfs charges)."""
        self.max_entries = max_entries


class Entry:
    __slots__ = ("executable", "ident", "is_dir", "path", "size", "unchanged")

    def __init__(
        self,
        path: str,
        is_dir: bool,
        executable: bool = False,
        size: int = 0,
        ident: tuple[int, int, int] | None = None,
        unchanged: bool = False,
    ) -> None:
        self.path = path
        self.is_dir = is_dir
        self.executable = executable
        self.size = size
        self.ident = ident
        """(inode, size, mtime_ns) where it was read, to notice a later change."""
        self.unchanged = unchanged
        """A ``U`` record: the file as it was unpacked, its bytes not sent."""


class Listing:
    __slots__ = ("entries", "skipped", "status", "usage")

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.skipped: dict[str, int] = {}
        """What was left out, by kind: symlink, fifo, socket, device, unreadable, long-path."""
        self.status: dict[str, object] | None = None
        self.usage = 0
        """Bytes the files take in a tmpfs (page-rounded)."""


def rounded(size: int) -> int:
    return -(-size // PAGE) * PAGE


def check_path(path: str) -> bytes:
    """The path as bytes, or StreamError when it could escape or is malformed."""
    raw = os.fsencode(path)
    if not raw or len(raw) > MAX_PATH_BYTES or b"\0" in raw:
        raise StreamError(f"bad path in stream: {path!r}")
    parts = raw.split(b"/")
    if len(parts) > MAX_DEPTH:
        raise StreamError(f"path nested deeper than {MAX_DEPTH} levels: {path[:100]!r}…")
    for part in parts:
        if part in (b"", b".", b"..") or len(part) > MAX_NAME_BYTES:
            raise StreamError(f"bad path in stream: {path!r}")
    return raw


# -- writing ---------------------------------------------------------------------


Identities = dict[str, tuple[int, int]]
"""Path → (inode, ctime_ns) of each file as unpacked. ``ctime`` changes with
every write, ``utime``, ``chmod``, link or rename, and no process can set it."""


class Writer:
    """Writes records to ``out``; ``add_tree`` walks a folder without following links."""

    def __init__(self, out: BinaryIO, limits: Limits) -> None:
        self.out = out
        self.limits = limits
        self.listing = Listing()
        out.write(MAGIC)

    def add_tree(
        self,
        root_fd: int,
        exclude: frozenset[str] = frozenset(),
        unpacked: Identities | None = None,
    ) -> Listing:
        """Every folder and regular file under ``root_fd`` (top-level ``exclude``
        left out); a file still as in ``unpacked`` becomes a ``U`` record."""
        for path, is_dir, fd in walk(root_fd, exclude, self.listing.skipped):
            if len(self.listing.entries) >= self.limits.max_entries:
                if fd is not None:
                    os.close(fd)
                raise LimitExceeded(f"more than {self.limits.max_entries} files and folders")
            if is_dir:
                self._dir(path)
            else:
                assert fd is not None
                try:
                    self._file(path, fd, unpacked.get(path) if unpacked else None)
                finally:
                    os.close(fd)
        return self.listing

    def status(self, data: dict[str, object]) -> None:
        write_status(self.out, data)

    def end(self) -> None:
        write_end(self.out)

    def _dir(self, path: str) -> None:
        raw = check_path(path)
        self.out.write(_HEAD.pack(b"D", len(raw)) + raw)
        self.listing.entries[path] = Entry(path, True)

    def _file(self, path: str, fd: int, as_unpacked: tuple[int, int] | None) -> None:
        raw = check_path(path)
        info = os.fstat(fd)
        size = info.st_size
        self.listing.usage += rounded(size)
        if self.listing.usage > self.limits.max_bytes:
            raise LimitExceeded(f"more than {self.limits.max_bytes} bytes of files")
        executable = bool(info.st_mode & 0o111)
        ident = (info.st_ino, size, info.st_mtime_ns)
        if as_unpacked == (info.st_ino, info.st_ctime_ns):
            self.out.write(_HEAD.pack(b"U", len(raw)) + raw)
            self.listing.entries[path] = Entry(path, False, executable, size, ident, True)
            return
        self.out.write(_HEAD.pack(b"F", len(raw)) + raw + _META.pack(executable, info.st_mtime_ns))
        self.out.write(_SIZE.pack(size))
        left = size
        while left:
            chunk = os.read(fd, min(_CHUNK, left))
            if not chunk:
                raise StreamError(f"{path} shrank while it was read")
            self.out.write(chunk)
            left -= len(chunk)
        self.listing.entries[path] = Entry(path, False, executable, size, ident)


def write_status(out: BinaryIO, data: dict[str, object]) -> None:
    """A status record; the reader merges every status record into one dict."""
    payload = to_json(data).encode()
    if len(payload) > MAX_STATUS_BYTES:
        payload = b'{"error": "status record too long"}'
    out.write(_HEAD.pack(b"S", 0) + _STATUS.pack(len(payload)) + payload)


def write_end(out: BinaryIO) -> None:
    out.write(_HEAD.pack(b"E", 0))
    out.flush()


# -- reading ---------------------------------------------------------------------


class _ParentCache:
    """The descriptor of the last folder written into (records come grouped)."""

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.path: str | None = None
        self.fd = -1

    def get(self, parent: str) -> int:
        if parent != self.path:
            self.close()
            self.fd = open_dir(self.root_fd, parent)
            self.path = parent
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd, self.path = -1, None


def read_stream(
    inp: BinaryIO, root_fd: int, limits: Limits, unpacked: Identities | None = None
) -> Listing:
    """Unpack a stream into the empty folder ``root_fd``; StreamError on anything wrong.

    Files are created ``O_EXCL | O_NOFOLLOW`` inside folders opened the same
    way, so a duplicate or a path through a file is refused. Files get mode
    0644 (0755 when executable) and their mtime; folders 0755. ``U`` records
    only enter the listing. With ``unpacked``, each file's identity is put
    there. On error, what was written stays in the folder for the caller to
    remove.
    """
    if _read_exact(inp, len(MAGIC)) != MAGIC:
        raise StreamError("not a workspace stream")
    listing = Listing()
    parents = _ParentCache(root_fd)
    try:
        while True:
            kind, length = _HEAD.unpack(_read_exact(inp, _HEAD.size))
            if kind == b"E":
                return listing
            if kind == b"S":
                listing.status = {**(listing.status or {}), **_read_status(inp)}
                continue
            if kind not in (b"D", b"F", b"U"):
                raise StreamError(f"unknown record {kind!r}")
            if len(listing.entries) >= limits.max_entries:
                raise LimitExceeded(f"more than {limits.max_entries} files and folders")
            raw = _read_exact(inp, length)
            path = os.fsdecode(raw)
            check_path(path)
            parent, _, name = path.rpartition("/")
            if path in listing.entries or (parent and parent not in listing.entries):
                raise StreamError(f"misplaced entry in stream: {path!r}")
            if parent and not listing.entries[parent].is_dir:
                raise StreamError(f"entry inside a file: {path!r}")
            if kind == b"U":
                listing.entries[path] = Entry(path, False, unchanged=True)
                continue
            dir_fd = parents.get(parent)
            if kind == b"D":
                os.mkdir(name, 0o755, dir_fd=dir_fd)
                listing.entries[path] = Entry(path, True)
                continue
            entry, identity = _read_file(inp, dir_fd, path, name, listing, limits)
            listing.entries[path] = entry
            if unpacked is not None:
                unpacked[path] = identity
    finally:
        parents.close()


def _read_file(
    inp: BinaryIO, dir_fd: int, path: str, name: str, listing: Listing, limits: Limits
) -> tuple[Entry, tuple[int, int]]:
    executable, mtime_ns = _META.unpack(_read_exact(inp, _META.size))
    (size,) = _SIZE.unpack(_read_exact(inp, _SIZE.size))
    listing.usage += rounded(size)
    if listing.usage > limits.max_bytes:
        raise LimitExceeded(f"more than {limits.max_bytes} bytes of files")
    mode = 0o755 if executable else 0o644
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, mode, dir_fd=dir_fd)
    try:
        left = size
        while left:
            chunk = inp.read(min(_CHUNK, left))
            if not chunk:
                raise StreamError("stream ends inside a file")
            _write_all(fd, chunk)
            left -= len(chunk)
        os.fchmod(fd, mode)
        os.utime(fd, ns=(mtime_ns, mtime_ns))
        info = os.fstat(fd)
    finally:
        os.close(fd)
    entry = Entry(path, False, executable, size, (info.st_ino, size, mtime_ns))
    return entry, (info.st_ino, info.st_ctime_ns)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def to_json(value: object) -> str:
    """JSON for the status record's values (bool, int, None, str, dict), by hand:
    ``json`` imports ``re``, which the launcher's start-up can do without."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_json(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    text = str(value).encode("utf-16-le", "surrogatepass")
    units = (int.from_bytes(text[i : i + 2], "little") for i in range(0, len(text), 2))
    escaped = (
        chr(u) if 0x20 <= u < 0x7F and u not in (0x22, 0x5C) else f"\\u{u:04x}" for u in units
    )
    return '"' + "".join(escaped) + '"'


def _read_status(inp: BinaryIO) -> dict[str, object]:
    import json  # only the server reads status records

    (length,) = _STATUS.unpack(_read_exact(inp, _STATUS.size))
    if length > MAX_STATUS_BYTES:
        raise StreamError("status record too long")
    try:
        data = json.loads(_read_exact(inp, length))
    except ValueError as error:
        raise StreamError(f"bad status record: {error}") from None
    if not isinstance(data, dict):
        raise StreamError("bad status record")
    return data


def _read_exact(inp: BinaryIO, size: int) -> bytes:
    data = inp.read(size)
    if len(data) != size:
        raise StreamError("stream ends early")
    return data
