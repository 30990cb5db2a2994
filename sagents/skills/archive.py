"""Unpacking an uploaded skill archive without trusting a byte of it.

Every entry is checked before anything is written: relative paths only, no
``..``, only regular files and folders (no symlinks, hard links, devices or
FIFOs), and the declared sizes and entry count within limits. Only then are
the files written, reading at most the declared size of each, so a lying
header cannot inflate an entry. ``tarfile``'s own ``data`` filter would
cover part of this, but it checks at extraction time, one member at a time,
which would leave earlier members written when a later one is refused.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sagents.skills.format import SKILL_FILE

SKIPPED_PREFIXES = ("__MACOSX/",)


class ArchiveRejected(ValueError):
    """The archive is unsafe or malformed; ``problems`` names each entry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Entry:
    path: PurePosixPath
    is_dir: bool
    size: int
    executable: bool
    handle: object
    """The zipfile.ZipInfo or tarfile.TarInfo to read the data from."""


def extract_archive(
    data: bytes, filename: str, staging: Path, *, max_bytes: int, max_files: int
) -> Path:
    """Check, then extract ``data`` under ``staging``; returns the skill folder.

    A root-level ``SKILL.md`` is extracted into ``staging/_root``; one
    top-level folder holding it keeps its name. Raises ``ArchiveRejected``
    before writing anything when any entry is unsafe or a limit is passed.
    """
    lowered = filename.lower()
    if lowered.endswith(".zip"):
        return _extract_zip(data, staging, max_bytes, max_files)
    if lowered.endswith((".tar.gz", ".tgz")):
        return _extract_tar(data, staging, max_bytes, max_files)
    raise ArchiveRejected([f"{filename!r}: upload a .zip or .tar.gz archive"])


def _extract_zip(data: bytes, staging: Path, max_bytes: int, max_files: int) -> Path:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ArchiveRejected([f"not a valid zip archive: {error}"]) from None
    with archive:
        entries: list[_Entry] = []
        problems: list[str] = []
        for info in archive.infolist():
            mode = (info.external_attr >> 16) & 0xFFFF
            kind = stat.S_IFMT(mode)
            is_dir = info.is_dir()
            if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(f"{info.filename}: {_kind_name(mode)} entries are not allowed")
                continue
            _add(entries, problems, info.filename, is_dir, info.file_size, mode, info)
            if len(problems) > 20:
                break
        root = _plan(entries, problems, max_bytes, max_files)
        for entry in entries:
            target = _target(staging, root, entry)
            if entry.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            assert isinstance(entry.handle, zipfile.ZipInfo)
            with archive.open(entry.handle) as source:
                _write(target, source.read(entry.size + 1), entry)
    return _skill_folder(staging, root)


def _extract_tar(data: bytes, staging: Path, max_bytes: int, max_files: int) -> Path:
    try:
        # closed by the ``with archive`` below; opened first to map errors
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArchiveRejected([f"not a valid .tar.gz archive: {error}"]) from None
    with archive:
        entries: list[_Entry] = []
        problems: list[str] = []
        total = 0
        try:
            # Lazy iteration: stop reading a bomb as soon as a limit is passed.
            for count, member in enumerate(archive, start=1):
                if count > max_files:
                    problems.append(f"more than {max_files} entries")
                    break
                if not (member.isreg() or member.isdir()):
                    what = "symlink" if member.issym() else "link" if member.islnk() else "special"
                    problems.append(f"{member.name}: {what} entries are not allowed")
                    continue
                kept = len(entries)
                _add(
                    entries, problems, member.name, member.isdir(), member.size, member.mode, member
                )
                total += sum(e.size for e in entries[kept:])  # what _add kept, if anything
                if total > max_bytes:
                    problems.append(f"the files add up to more than {max_bytes} bytes")
                    break
        except (tarfile.TarError, OSError, EOFError) as error:
            problems.append(f"not a valid .tar.gz archive: {error}")
        root = _plan(entries, problems, max_bytes, max_files)
        for entry in entries:
            target = _target(staging, root, entry)
            if entry.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            assert isinstance(entry.handle, tarfile.TarInfo)
            source = archive.extractfile(entry.handle)
            if source is None:
                raise ArchiveRejected([f"{entry.path}: cannot be read"])
            with source:
                _write(target, source.read(entry.size + 1), entry)
    return _skill_folder(staging, root)


def _add(
    entries: list[_Entry],
    problems: list[str],
    name: str,
    is_dir: bool,
    size: int,
    mode: int,
    handle: object,
) -> None:
    if name.startswith(SKIPPED_PREFIXES) or name.rstrip("/").endswith(".DS_Store"):
        return
    if "\\" in name or "\x00" in name:
        problems.append(f"{name!r}: backslashes and NUL are not allowed in paths")
        return
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        problems.append(f"{name}: absolute paths are not allowed")
        return
    if any(part == ".." for part in path.parts):
        problems.append(f"{name}: '..' is not allowed in paths")
        return
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        return
    entries.append(
        _Entry(PurePosixPath(*parts), is_dir, 0 if is_dir else size, bool(mode & 0o111), handle)
    )


def _plan(entries: list[_Entry], problems: list[str], max_bytes: int, max_files: int) -> str | None:
    """Check limits and layout; returns the top folder, or None for a root SKILL.md."""
    if len(entries) > max_files:
        problems.append(f"{len(entries)} entries; at most {max_files} are allowed")
    total = sum(e.size for e in entries)
    if total > max_bytes and not any("bytes" in p for p in problems):
        problems.append(f"the files add up to {total} bytes; at most {max_bytes} are allowed")
    if problems:
        raise ArchiveRejected(problems)
    files = {e.path for e in entries if not e.is_dir}
    if PurePosixPath(SKILL_FILE) in files:
        return None
    tops = {e.path.parts[0] for e in entries}
    if len(tops) == 1:
        (top,) = tops
        if PurePosixPath(top, SKILL_FILE) in files:
            return top
    raise ArchiveRejected([f"the archive's root must hold {SKILL_FILE}, or one folder that does"])


def _target(staging: Path, root: str | None, entry: _Entry) -> Path:
    base = staging / "_root" if root is None else staging
    return base.joinpath(*entry.path.parts)


def _write(target: Path, content: bytes, entry: _Entry) -> None:
    if len(content) > entry.size:
        raise ArchiveRejected([f"{entry.path}: larger than its declared size"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    target.chmod(0o755 if entry.executable else 0o644)


def _skill_folder(staging: Path, root: str | None) -> Path:
    return staging / "_root" if root is None else staging / root


def _kind_name(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    return "special"
