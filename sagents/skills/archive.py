"""Unpacking an uploaded skill archive without trusting a byte of it.

An archive holds one skill or several. Every folder with a ``SKILL.md`` (not
inside another such folder) is a skill, at any depth, so all of these work:
``SKILL.md`` at the root, ``pdf/SKILL.md``, ``repo-main/pdf/SKILL.md``, and
``repo-main/skills/*/SKILL.md`` (a repository downloaded as an archive).
Files outside every skill folder (a repository's README, CI files) are
listed and counted but never written.

Every entry is checked before anything is written: relative paths only, no
``..``, no control characters or backslashes, no name twice, no name that is
both a file and a folder; inside a skill only regular files and folders (no
links, devices, sparse or encrypted entries). Limits: ``max_files`` entries
and ``max_bytes`` for all files together. Declared sizes are checked first
(a cheap refusal), and then, while writing, the bytes actually read are
counted against both the entry's declared size and the total, since a zip
entry can declare 10 bytes and inflate to gigabytes. ``tarfile``'s ``data``
filter covers part of this, but it checks one member at a time while
extracting, which would leave earlier members written when a later one is
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from sagents.skills.archive_readers import (
    CHUNK,
    READ_ERRORS,
    ArchiveEntry,
    ArchiveUnreadable,
    tar_entries,
    zip_entries,
)
from sagents.skills.format import SKILL_FILE
from sagents.skills.layout import skill_roots

SKIPPED_PREFIXES = ("__MACOSX/",)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode's control characters (category Cc): newlines, escapes, DEL, C1."""
MAX_PATH_CHARS = 1024
MAX_PART_BYTES = 255
MAX_PROBLEMS = 20
ROOT_FOLDER = "_root"
"""Where a root-level skill is unpacked; the manager renames it to the skill's name."""


class ArchiveRejected(ValueError):
    """The archive is unsafe or malformed; ``problems`` names each entry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_bytes: int
    """All regular files together, as declared and as actually read."""
    max_files: int
    """Entries in the archive (files, folders and skipped ones)."""


@dataclass(frozen=True, slots=True)
class UnpackedSkill:
    """One skill folder written under the staging folder."""

    source: str
    """Its folder inside the archive ('' for the archive's root)."""
    path: Path


@dataclass(frozen=True, slots=True)
class _Planned:
    path: PurePosixPath
    entry: ArchiveEntry


def unpack_archive(
    data: bytes, filename: str, staging: Path, limits: ArchiveLimits
) -> list[UnpackedSkill]:
    """Check, then write the skill folders of ``data`` under ``staging``.

    Raises ``ArchiveRejected`` before writing anything when an entry is
    unsafe or a declared limit is passed, and while writing when the data
    do not match what was declared (``staging`` is then the caller's to
    remove). Returns the skills found, ordered by their folder.
    """
    lowered = filename.lower()
    try:
        if lowered.endswith(".zip"):
            with zip_entries(data, limits.max_files) as entries:
                return _unpack(entries, staging, limits)
        if lowered.endswith((".tar.gz", ".tgz", ".tar")):
            spool = staging / "archive.tar"
            with tar_entries(data, spool, limits.max_bytes, limits.max_files) as entries:
                return _unpack(entries, staging, limits)
    except ArchiveUnreadable as error:
        raise ArchiveRejected([str(error)]) from None
    raise ArchiveRejected([f"{filename!r}: upload a .zip, .tar.gz, .tgz or .tar archive"])


def _unpack(
    entries: list[ArchiveEntry], staging: Path, limits: ArchiveLimits
) -> list[UnpackedSkill]:
    planned, roots = _plan(entries, limits)
    total = 0
    for item in planned:
        target = _target(staging, roots, item.path)
        if item.entry.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
            continue
        total = _write(target, item, total, limits.max_bytes)
    return [
        UnpackedSkill(
            source=root.as_posix() if root.parts else "", path=_target(staging, roots, root)
        )
        for root in roots
    ]


def _plan(
    entries: list[ArchiveEntry], limits: ArchiveLimits
) -> tuple[list[_Planned], list[PurePosixPath]]:
    """The entries to write and the skill folders, or ``ArchiveRejected``."""
    problems: list[str] = []
    if len(entries) > limits.max_files:
        problems.append(f"{len(entries)} entries; at most {limits.max_files} are allowed")
    declared = sum(e.size for e in entries if e.kind in ("file", "sparse", "encrypted"))
    if declared > limits.max_bytes:
        problems.append(
            f"the files add up to {declared} bytes; at most {limits.max_bytes} are allowed"
        )
    kept: list[_Planned] = []
    for entry in entries:
        if len(problems) >= MAX_PROBLEMS:
            break
        path = _safe_path(entry.name, problems)
        if path is not None:
            kept.append(_Planned(path, entry))
    problems += _conflicts(kept)
    if problems:
        raise ArchiveRejected(problems[:MAX_PROBLEMS])
    roots = skill_roots([p.path for p in kept if p.entry.kind == "file"])
    if not roots:
        raise ArchiveRejected(
            [f"no {SKILL_FILE} in the archive: a skill is a folder holding {SKILL_FILE}"]
        )
    inside = [p for p in kept if _root_of(p.path, roots) is not None]
    for item in inside:
        if item.entry.kind not in ("file", "dir"):
            problems.append(f"{item.path}: {_KIND_NAMES[item.entry.kind]} are not allowed")
    if problems:
        raise ArchiveRejected(problems[:MAX_PROBLEMS])
    return inside, roots


_KIND_NAMES = {
    "link": "symlinks and hard links",
    "special": "devices, FIFOs and other special files",
    "sparse": "sparse files",
    "encrypted": "encrypted entries",
}


def _root_of(path: PurePosixPath, roots: list[PurePosixPath]) -> PurePosixPath | None:
    for root in roots:
        if path.is_relative_to(root) and path != root:
            return root
    return None


def _safe_path(name: str, problems: list[str]) -> PurePosixPath | None:
    """The entry's normalized path; None when skipped or refused (a problem)."""
    if name.startswith(SKIPPED_PREFIXES) or name.rstrip("/").endswith(".DS_Store"):
        return None
    if "\\" in name or _CONTROL.search(name):
        problems.append(f"{name!r}: backslashes and control characters are not allowed in paths")
        return None
    if name.startswith("/"):
        problems.append(f"{name!r}: absolute paths are not allowed")
        return None
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        problems.append(f"{name!r}: '..' is not allowed in paths")
        return None
    if len(name) > MAX_PATH_CHARS or any(len(p.encode()) > MAX_PART_BYTES for p in path.parts):
        problems.append(f"{name[:80]!r}...: the path is too long")
        return None
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _conflicts(kept: list[_Planned]) -> list[str]:
    """A path given twice, or as a file and as a folder, cannot be written as listed."""
    problems: list[str] = []
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for item in kept:
        if item.entry.kind == "dir":
            folders.add(item.path)
            continue
        if item.path in files:
            problems.append(f"{item.path}: appears twice in the archive")
        files.add(item.path)
        folders.update(item.path.parents)
    for path in sorted(files & folders):
        problems.append(f"{path}: is both a file and a folder")
    return problems


def _target(staging: Path, roots: list[PurePosixPath], path: PurePosixPath) -> Path:
    if roots == [PurePosixPath()]:
        return staging / "unpacked" / ROOT_FOLDER / path
    return staging / "unpacked" / "tree" / path


def _write(target: Path, item: _Planned, total: int, max_bytes: int) -> int:
    """Copy one entry, counting real bytes; returns the new running total."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with _opened(item) as source, target.open("wb") as out:
        while chunk := _read(source, item):
            written += len(chunk)
            if written > item.entry.size:
                raise ArchiveRejected([f"{item.path}: larger than its declared size"])
            if total + written > max_bytes:
                raise ArchiveRejected([f"the files add up to more than {max_bytes} bytes"])
            out.write(chunk)
    if written != item.entry.size:
        raise ArchiveRejected([f"{item.path}: shorter than its declared size"])
    target.chmod(0o755 if item.entry.executable else 0o644)
    return total + written


def _opened(item: _Planned) -> IO[bytes]:
    try:
        return item.entry.open()
    except ArchiveUnreadable as error:
        raise ArchiveRejected([str(error)]) from None
    except READ_ERRORS as error:
        raise ArchiveRejected([f"{item.path}: cannot be read: {error}"]) from None


def _read(source: IO[bytes], item: _Planned) -> bytes:
    """One chunk; the decompressors' errors (bad CRC, truncated data) become a 400."""
    try:
        return source.read(CHUNK)
    except READ_ERRORS as error:
        raise ArchiveRejected([f"{item.path}: cannot be read: {error}"]) from None
