"""Names and paths of session files, from clients and models: untrusted.

A path names a place inside the session's workspace: relative, ``/``-
separated, no empty, ``.`` or ``..`` parts, no NUL or control characters,
within the workspace stream's length and depth limits. It is never joined
onto a host path: it is walked one part at a time from the workspace's
descriptor (``fdtree.open_dir``), so even a valid path cannot leave it.

An uploaded file's name is *sanitised* rather than refused where that is
safe: a browser may send a whole client path (``C:\\Users\\me\\data.csv``),
of which only the last part is meant.
"""

from __future__ import annotations

import os
import unicodedata

from sagents.skills import wsstream

RESERVED = frozenset({".tmp"})
"""Top-level names the sandbox uses inside the workspace (``.tmp`` is TMPDIR)."""


class BadPath(ValueError):
    """The path cannot name a file of the workspace; the message says why."""


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text)


def check_path(path: str) -> str:
    """``path`` normalised (no leading/trailing ``/``), or BadPath."""
    cleaned = path.strip("/")
    if not cleaned:
        raise BadPath("the path is empty")
    if _has_control(cleaned) or "\\" in cleaned:
        raise BadPath(f"the path {path[:200]!r} holds control characters or a backslash")
    try:
        wsstream.check_path(cleaned)
    except wsstream.StreamError:
        raise BadPath(
            f"the path {path[:200]!r} is not a plain relative path (no '.', '..' or empty "
            f"parts, at most {wsstream.MAX_DEPTH} levels and {wsstream.MAX_PATH_BYTES} bytes)"
        ) from None
    if cleaned.split("/", 1)[0] in RESERVED:
        raise BadPath(f"{cleaned.split('/', 1)[0]!r} is reserved for the sandbox")
    return cleaned


def sanitise_name(filename: str) -> str:
    """The file name to store an upload under: its last path part (either
    separator), control characters removed, at most 255 bytes (the stem is
    shortened, the extension kept). BadPath when nothing usable is left."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not _has_control(ch)).strip()
    if name in ("", ".", ".."):
        raise BadPath(f"the file name {filename[:200]!r} leaves no usable name")
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 32:
        stem, ext = name, ""
    while len((stem + ext).encode()) > wsstream.MAX_NAME_BYTES:
        stem = stem[:-1]
    if not stem:
        raise BadPath(f"the file name {filename[:200]!r} leaves no usable name")
    return check_path(stem + ext)
