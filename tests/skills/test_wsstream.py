"""The workspace stream: a round trip keeps files, and a hostile stream is
refused without writing anything outside the folder it is unpacked into."""

from __future__ import annotations

import io
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagents.skills import wsstream
from sagents.skills.wsstream import LimitExceeded, Limits, StreamError

LIMITS = Limits(max_bytes=1 << 20, max_entries=100)


def fd(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def pack(folder: Path, limits: Limits = LIMITS, **status: object) -> bytes:
    out = io.BytesIO()
    writer = wsstream.Writer(out, limits)
    root = fd(folder)
    try:
        writer.add_tree(root, frozenset({".tmp"}))
    finally:
        os.close(root)
    if status:
        writer.status(dict(status))
    writer.end()
    return out.getvalue()


def unpack(data: bytes, folder: Path, limits: Limits = LIMITS) -> wsstream.Listing:
    folder.mkdir(exist_ok=True)
    root = fd(folder)
    try:
        return wsstream.read_stream(io.BytesIO(data), root, limits)
    finally:
        os.close(root)


def record(kind: bytes, path: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">cH", kind, len(path)) + path + body


def file_body(data: bytes, executable: bool = False) -> bytes:
    return struct.pack(">?q", executable, 0) + struct.pack(">Q", len(data)) + data


END = struct.pack(">cH", b"E", 0)


@pytest.fixture
def sandboxed(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(the folder to unpack into, a sibling that must stay untouched)."""
    target, sibling = tmp_path / "target", tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "keep.txt").write_text("keep")
    yield target, sibling
    assert sorted(p.name for p in sibling.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sibling", "target"]


def test_round_trip_keeps_files_folders_modes_and_times(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "a" / "b").mkdir(parents=True)
    (source / "a" / "b" / "deep.txt").write_bytes(b"deep")
    (source / "run.sh").write_text("echo hi")
    (source / "run.sh").chmod(0o750)
    os.utime(source / "run.sh", ns=(1_000_000_000_123, 1_000_000_000_123))
    (source / ".tmp").mkdir()
    (source / ".tmp" / "scratch").write_text("left out")
    listing = unpack(pack(source, saved=True), tmp_path / "copy")
    copy = tmp_path / "copy"
    assert (copy / "a" / "b" / "deep.txt").read_bytes() == b"deep"
    assert stat.S_IMODE((copy / "run.sh").stat().st_mode) == 0o755
    assert (copy / "run.sh").stat().st_mtime_ns == 1_000_000_000_123
    assert not (copy / ".tmp").exists()
    assert set(listing.entries) == {"a", "a/b", "a/b/deep.txt", "run.sh"}
    assert listing.status == {"saved": True}


def test_writer_skips_links_fifos_and_sockets_and_never_follows(tmp_path: Path) -> None:
    source, outside = tmp_path / "source", tmp_path / "outside"
    source.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (source / "dir-link").symlink_to(outside)
    (source / "file-link").symlink_to(outside / "secret.txt")
    os.mkfifo(source / "pipe")
    (source / "real.txt").write_text("real")
    out = io.BytesIO()
    writer = wsstream.Writer(out, LIMITS)
    root = fd(source)
    listing = writer.add_tree(root)
    os.close(root)
    assert set(listing.entries) == {"real.txt"}
    assert listing.skipped == {"symlink": 2, "fifo": 1}
    assert b"secret" not in out.getvalue()


def test_writer_stops_at_the_limits(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for index in range(5):
        (source / f"f{index}").write_bytes(b"x")
    with pytest.raises(LimitExceeded, match="more than 3 files"):
        pack(source, Limits(max_bytes=1 << 20, max_entries=3))
    with pytest.raises(LimitExceeded, match="bytes"):
        pack(source, Limits(max_bytes=3 * wsstream.PAGE, max_entries=100))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (record(b"F", b"../escape.txt", file_body(b"x")), "bad path"),
        (record(b"F", b"/etc/escape.txt", file_body(b"x")), "bad path"),
        (record(b"F", b"a//b", file_body(b"x")), "bad path"),
        (record(b"F", b"./x", file_body(b"x")), "bad path"),
        (record(b"F", b"x\0y", file_body(b"x")), "bad path"),
        (record(b"F", b"", file_body(b"x")), "bad path"),
        (record(b"F", b"n" * 256, file_body(b"x")), "bad path"),
        (record(b"F", b"missing/x", file_body(b"x")), "misplaced"),
        (record(b"F", b"x", file_body(b"1")) + record(b"F", b"x", file_body(b"2")), "misplaced"),
        (
            record(b"F", b"x", file_body(b"1")) + record(b"F", b"x/y", file_body(b"2")),
            "inside a file",
        ),
        (record(b"L", b"link"), "unknown record"),
        (record(b"F", b"x", struct.pack(">?q", False, 0) + struct.pack(">Q", 10) + b"abc"), "ends"),
        (record(b"S", b"", struct.pack(">I", 70_000) + b"{}"), "too long"),
        (record(b"S", b"", struct.pack(">I", 2) + b"[]"), "bad status"),
    ],
)
def test_hostile_streams_are_refused(
    sandboxed: tuple[Path, Path], body: bytes, message: str
) -> None:
    target, _ = sandboxed
    with pytest.raises(StreamError, match=message):
        unpack(wsstream.MAGIC + body + END, target)


def test_a_stream_without_the_magic_or_the_end_is_refused(sandboxed: tuple[Path, Path]) -> None:
    target, _ = sandboxed
    with pytest.raises(StreamError, match="not a workspace stream"):
        unpack(b"PK\x03\x04" * 4 + END, target)
    with pytest.raises(StreamError, match="ends early"):
        unpack(wsstream.MAGIC + record(b"D", b"a"), target / "cut")


def test_reader_limits_count_before_writing(sandboxed: tuple[Path, Path]) -> None:
    target, _ = sandboxed
    many = b"".join(record(b"F", f"f{i}".encode(), file_body(b"")) for i in range(101))
    with pytest.raises(LimitExceeded, match="more than 100"):
        unpack(wsstream.MAGIC + many + END, target)
    big = record(b"F", b"big", struct.pack(">?q", False, 0) + struct.pack(">Q", 1 << 40))
    with pytest.raises(LimitExceeded, match="bytes"):
        unpack(wsstream.MAGIC + big, target / "again")
    assert not (target / "again" / "big").exists()


def test_only_files_changed_since_unpacking_are_sent_back(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("same", "written", "retimed", "chmodded"):
        (source / name).write_bytes(name.encode() * 100)
    unpacked: wsstream.Identities = {}
    copy = tmp_path / "copy"
    copy.mkdir()
    root = fd(copy)
    try:
        wsstream.read_stream(io.BytesIO(pack(source)), root, LIMITS, unpacked)
    finally:
        os.close(root)
    before = (copy / "retimed").stat().st_mtime_ns
    (copy / "written").write_bytes(b"new")
    (copy / "retimed").write_bytes(b"retimed" * 100)  # same bytes, then the old mtime back:
    os.utime(copy / "retimed", ns=(before, before))  # ctime still tells
    (copy / "chmodded").chmod(0o755)
    (copy / "added").write_text("added")
    out = io.BytesIO()
    root = fd(copy)
    try:
        listing = wsstream.Writer(out, LIMITS).add_tree(root, unpacked=unpacked)
    finally:
        os.close(root)
    sent = {path for path, entry in listing.entries.items() if not entry.unchanged}
    assert sent == {"written", "retimed", "chmodded", "added"}
    assert b"samesame" not in out.getvalue()  # its bytes were not sent


def test_depth_is_bounded_both_ways(tmp_path: Path) -> None:
    deep = "/".join(["d"] * (wsstream.MAX_DEPTH + 1))
    with pytest.raises(StreamError, match="deeper than 64"):
        wsstream.check_path(deep)
    source = tmp_path / "source"
    (source / "/".join(["d"] * (wsstream.MAX_DEPTH + 3))).mkdir(parents=True)
    out = io.BytesIO()
    root = fd(source)
    try:
        listing = wsstream.Writer(out, LIMITS).add_tree(root)
    finally:
        os.close(root)
    assert max(path.count("/") + 1 for path in listing.entries) == wsstream.MAX_DEPTH
    assert listing.skipped == {"too-deep": 1}


def test_odd_names_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    odd = [b"new\nline", b"\xff\xfe-not-utf8", b" lead space", b"-dash"]
    for raw in odd:
        with open(os.path.join(os.fsencode(source), raw), "wb") as handle:
            handle.write(raw)
    copy = tmp_path / "copy"
    unpack(pack(source), copy)
    assert sorted(os.listdir(os.fsencode(copy))) == sorted(odd)
