"""Listing the entries of an uploaded .zip or .tar(.gz), with bounded work.

The readers only *list* entries (name, kind, declared size) and hand back a
way to open each; ``archive.py`` decides what to extract and counts the
bytes actually read. Two costs are bounded here, before the standard
library sees the data:

- a zip's central directory is parsed whole by ``zipfile.ZipFile``; a 17 MB
  archive of empty entries took 3 s and 240 MB. The number of entries is
  counted from the raw central directory first (``_count_zip_entries``).
- gzip is decompressed into a spool file with a cap on the bytes written,
  so a gzip bomb, or a GNU long-name or pax header that ``tarfile`` would
  read whole into memory, stops at the cap; the tar is then read from a
  seekable file (extracting from a gzip stream would re-decompress from the
  start for every backward seek).
"""

from __future__ import annotations

import gzip
import io
import itertools
import lzma
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

EntryKind = Literal["file", "dir", "link", "special", "sparse", "encrypted"]

READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,  # zipfile: "File is encrypted, password required"
    NotImplementedError,  # zipfile: an unsupported compression method
    UnicodeError,
)
"""What the standard library raises on malformed archive data."""

TAR_OVERHEAD_PER_ENTRY = 4096
"""Header, long-name/pax blocks and padding allowed per entry in a tar stream."""
CHUNK = 64 * 1024


class ArchiveUnreadable(Exception):
    """The archive cannot be listed or read; the message says why.

    Not a ``ValueError``, so it passes through the ``READ_ERRORS`` handlers."""


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    name: str
    kind: EntryKind
    size: int
    """Declared size: what the archive says, never trusted when reading."""
    executable: bool
    open: Callable[[], IO[bytes]]


@contextmanager
def zip_entries(data: bytes, max_files: int) -> Iterator[list[ArchiveEntry]]:
    count = _count_zip_entries(data)
    if count > max_files:
        raise ArchiveUnreadable(f"{count} entries; at most {max_files} are allowed")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except READ_ERRORS as error:
        raise ArchiveUnreadable(f"not a valid zip archive: {error}") from None
    with archive:
        infos = archive.infolist()
        _check_no_overlap(infos)
        yield [_zip_entry(archive, info) for info in infos]


def _zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> ArchiveEntry:
    mode = (info.external_attr >> 16) & 0xFFFF
    kind: EntryKind
    if info.flag_bits & 0x1:
        kind = "encrypted"
    elif stat.S_ISLNK(mode):
        kind = "link"
    elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "special"
    else:
        kind = "dir" if info.is_dir() else "file"
    return ArchiveEntry(
        name=info.filename,
        kind=kind,
        size=0 if kind == "dir" else info.file_size,
        executable=bool(mode & 0o111),
        open=lambda: archive.open(info),
    )


def _count_zip_entries(data: bytes) -> int:
    """Central-directory records in ``data``, counted without parsing them.

    Written by hand because ``zipfile`` has no public way to read the end
    record before it parses every entry. The count is of record signatures
    in the directory's byte range, so an end record that lies about the
    number of entries does not matter; an archive without a readable end
    record counts as 0 and is left to ``zipfile`` to refuse.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65_535))
    if end < 0 or end + 22 > len(data):
        return 0
    (size,) = struct.unpack_from("<I", data, end + 12)
    start = end - size
    zip64 = end - 20 - 56
    if (
        (size == 0xFFFFFFFF or start < 0)
        and zip64 >= 0
        and data[zip64 : zip64 + 4] == b"PK\x06\x06"
    ):
        (size,) = struct.unpack_from("<Q", data, zip64 + 40)
        start = zip64 - size
    return data.count(b"PK\x01\x02", max(0, start), end)


def _check_no_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse entries whose data overlap: the "overlapping files" zip bomb
    reuses one compressed block for many entries (newer Pythons check this
    in ``zipfile``; 3.11 does not)."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for before, after in itertools.pairwise(ordered):
        if before.header_offset + before.compress_size > after.header_offset:
            raise ArchiveUnreadable(
                f"entries {before.filename!r} and {after.filename!r} overlap in the archive"
            )


@contextmanager
def tar_entries(
    data: bytes, spool: Path, max_bytes: int, max_files: int
) -> Iterator[list[ArchiveEntry]]:
    """The members of a .tar or .tar.gz, read from a spool file under a cap."""
    cap = max_bytes + (max_files + 2) * TAR_OVERHEAD_PER_ENTRY
    _spool(data, spool, cap)
    try:
        archive = tarfile.open(spool, mode="r:")  # noqa: SIM115 (closed by the with below)
    except READ_ERRORS as error:
        raise ArchiveUnreadable(f"not a valid tar archive: {error}") from None
    with archive:
        entries: list[ArchiveEntry] = []
        try:
            for member in archive:  # lazy: a bomb is not read past the cap
                if len(entries) >= max_files:
                    raise ArchiveUnreadable(f"more than {max_files} entries")
                entries.append(_tar_entry(archive, member))
        except READ_ERRORS as error:
            raise ArchiveUnreadable(f"not a valid tar archive: {error}") from None
        yield entries


def _tar_entry(archive: tarfile.TarFile, member: tarfile.TarInfo) -> ArchiveEntry:
    kind: EntryKind
    if member.issparse():
        kind = "sparse"
    elif member.isreg():
        kind = "file"
    elif member.isdir():
        kind = "dir"
    elif member.issym() or member.islnk():
        kind = "link"
    else:
        kind = "special"

    def open_member() -> IO[bytes]:
        source = archive.extractfile(member)
        if source is None:
            raise ArchiveUnreadable(f"{member.name!r} cannot be read")
        return source

    return ArchiveEntry(
        name=member.name,
        kind=kind,
        size=member.size if kind == "file" else 0,
        executable=bool(member.mode & 0o111),
        open=open_member,
    )


def _spool(data: bytes, spool: Path, cap: int) -> None:
    """Write the tar stream (gunzipped when gzip) to ``spool``, at most ``cap`` bytes."""
    spool.parent.mkdir(parents=True, exist_ok=True)
    if not data.startswith(b"\x1f\x8b"):
        if len(data) > cap:
            raise ArchiveUnreadable(f"the tar stream is larger than {cap} bytes")
        spool.write_bytes(data)
        return
    written = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as source, spool.open("wb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > cap:
                    raise ArchiveUnreadable(f"decompresses to more than {cap} bytes")
                out.write(chunk)
    except READ_ERRORS as error:
        raise ArchiveUnreadable(f"not a valid gzip stream: {error}") from None
