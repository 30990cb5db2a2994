"""Unpacking archives: layouts of one or many skills, and archives that lie."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from sagents.skills.archive import ArchiveLimits, ArchiveRejected, unpack_archive
from sagents.skills.archive_readers import _count_zip_entries
from tests.skills.archives import (
    declare_zip_size,
    encrypted_zip,
    good,
    long_name_tar,
    make_tar,
    make_zip,
    overlapping_zip,
    set_zip_method,
    truncated_tar,
)

LIMITS = ArchiveLimits(max_bytes=1_000_000, max_files=100)


def unpack(data: bytes, filename: str, staging: Path, limits: ArchiveLimits = LIMITS) -> list[str]:
    return [u.source for u in unpack_archive(data, filename, staging, limits)]


def rejected(data: bytes, filename: str, staging: Path, limits: ArchiveLimits = LIMITS) -> str:
    with pytest.raises(ArchiveRejected) as info:
        unpack_archive(data, filename, staging, limits)
    return str(info.value)


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_layouts_one_skill_extra_top_folder_and_a_repository(tmp_path: Path) -> None:
    assert unpack(make_zip(good()), "a.zip", tmp_path / "a") == ["say-hello"]
    top = make_zip(good(prefix="skills-main/"))
    assert unpack(top, "b.zip", tmp_path / "b") == ["skills-main/say-hello"]
    repo = make_tar(
        {
            "repo-main/README.md": "a repository",
            "repo-main/.github/ci.yml": "x",
            **good("alpha", prefix="repo-main/skills/"),
            **good("beta", prefix="repo-main/skills/"),
            **good("gamma", prefix="repo-main/other/"),
            # a SKILL.md inside a skill is one of its files, not another skill
            "repo-main/skills/alpha/examples/inner/SKILL.md": "not a skill of its own",
        },
        links={"repo-main/AGENTS.md": "README.md"},  # a link outside every skill is skipped
    )
    sources = unpack(repo, "repo.tar.gz", tmp_path / "c")
    assert sources == ["repo-main/other/gamma", "repo-main/skills/alpha", "repo-main/skills/beta"]
    written = files_under(tmp_path / "c")
    assert "unpacked/tree/repo-main/skills/alpha/examples/inner/SKILL.md" in written
    assert not any("README" in f or ".github" in f or "AGENTS" in f for f in written)


def test_root_level_skill_and_plain_tar(tmp_path: Path) -> None:
    data = make_tar({"SKILL.md": "x", "scripts/a.py": "1"}, gz=False)
    assert unpack(data, "s.tar", tmp_path) == [""]
    assert files_under(tmp_path / "unpacked") == ["_root/SKILL.md", "_root/scripts/a.py"]


def test_lying_zip_entry_is_refused_and_never_inflates(tmp_path: Path) -> None:
    payload = b"A" * 200_000
    honest = make_zip({**good(), "say-hello/data.bin": payload})
    # declares 10 bytes, inflates to 200 KB: zipfile stops at 10 and the CRC fails
    lying = declare_zip_size(honest, "say-hello/data.bin", 10)
    assert "data.bin" in rejected(lying, "l.zip", tmp_path / "a")
    # the same with the CRC of the first 10 bytes forged: only 10 bytes are read
    forged = declare_zip_size(honest, "say-hello/data.bin", 10, crc_of=payload[:10])
    unpack(forged, "f.zip", tmp_path / "b")
    data_bin = tmp_path / "b/unpacked/tree/say-hello/data.bin"
    assert data_bin.read_bytes() == payload[:10]
    # declares more than it holds
    short = declare_zip_size(honest, "say-hello/data.bin", 300_000)
    assert "data.bin" in rejected(short, "s.zip", tmp_path / "c")


def test_bytes_are_counted_as_read_not_as_declared(tmp_path: Path) -> None:
    zeros = b"\0" * 3_000_000  # compresses about 1000:1
    bomb = make_zip({**good(), "say-hello/zeros.bin": zeros})
    assert len(bomb) < 10_000
    # within the cap: a high ratio alone is fine
    unpack(bomb, "ok.zip", tmp_path / "a", ArchiveLimits(4_000_000, 100))
    assert (tmp_path / "a/unpacked/tree/say-hello/zeros.bin").stat().st_size == 3_000_000
    # over it: refused on the declared size, before anything is written
    message = rejected(bomb, "big.zip", tmp_path / "b", ArchiveLimits(1_000_000, 100))
    assert "at most 1000000" in message
    assert files_under(tmp_path / "b") == []


def test_overlapping_duplicate_and_conflicting_entries(tmp_path: Path) -> None:
    entries = {**good(), "say-hello/aaaa.txt": "x" * 1000}
    overlap = overlapping_zip(entries, "say-hello/aaaa.txt", "say-hello/bbbb.txt")
    assert "overlap" in rejected(overlap, "o.zip", tmp_path / "a")
    twice = make_zip({**good()})
    with zipfile.ZipFile(tmp_path / "twice.zip", "w") as archive:
        for name, text in good().items():
            archive.writestr(name, text)
        archive.writestr("say-hello/./scripts//hi.py", "print(2)")  # the same path, spelled apart
    assert "appears twice" in rejected((tmp_path / "twice.zip").read_bytes(), "t.zip", tmp_path)
    both = make_zip({**good(), "say-hello/notes": "file", "say-hello/notes/inner.md": "x"})
    assert "both a file and a folder" in rejected(both, "b.zip", tmp_path / "b")
    assert unpack(twice, "fine.zip", tmp_path / "c") == ["say-hello"]


@pytest.mark.parametrize(
    "name",
    [
        "say-hello/bad\nname.txt",
        "say-hello/esc\x1b[31m.txt",
        "say-hello/del\x7f.txt",
        "say-hello\\win.txt",
        "say-hello/../../evil.txt",
        "/abs/evil.txt",
        "say-hello/" + "n" * 300,
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    data = make_zip({**good(), name: "x"})
    rejected(data, "n.zip", tmp_path)
    assert files_under(tmp_path) == []


def test_same_name_different_case_are_two_files(tmp_path: Path) -> None:
    data = make_zip({**good(), "say-hello/Notes.md": "upper", "say-hello/notes.md": "lower"})
    unpack(data, "c.zip", tmp_path)
    folder = tmp_path / "unpacked/tree/say-hello"
    assert (folder / "Notes.md").read_text() == "upper"
    assert (folder / "notes.md").read_text() == "lower"


def test_entries_a_skill_may_not_hold(tmp_path: Path) -> None:
    enc = encrypted_zip(good(), "say-hello/scripts/hi.py")
    assert "encrypted" in rejected(enc, "e.zip", tmp_path / "a")
    assert files_under(tmp_path / "a") == []  # refused from the listing, before writing
    unknown = set_zip_method(make_zip(good()), "say-hello/scripts/hi.py", 99)
    assert "cannot be read" in rejected(unknown, "u.zip", tmp_path / "u")
    sparse = make_tar(good(), sparse=["say-hello/holes.bin"])
    assert "sparse" in rejected(sparse, "s.tar.gz", tmp_path / "b")
    link = make_tar(good(), links={"say-hello/passwd": "/etc/passwd"})
    assert "symlinks" in rejected(link, "l.tar.gz", tmp_path / "c")
    lzma_zip = make_zip(good(), method=zipfile.ZIP_LZMA)  # readable: a supported method
    assert unpack(lzma_zip, "x.zip", tmp_path / "d") == ["say-hello"]


def test_truncated_tar_and_bombs(tmp_path: Path) -> None:
    # the header says 5000 bytes, the stream ends after 10
    truncated = truncated_tar("say-hello/data.bin", 5000, b"0123456789")
    rejected(truncated, "t.tar.gz", tmp_path / "a")
    # a 1 MB GNU long name: refused, however tarfile would buffer it
    assert len(long_name_tar(1_000_000)) < 20_000
    small = ArchiveLimits(max_bytes=4096, max_files=10)
    assert "decompresses to more than" in rejected(
        long_name_tar(1_000_000), "n.tar.gz", tmp_path / "b", small
    )
    # a gzip bomb: 50 MB of zeros inside one member
    bomb = make_tar({**good(), "say-hello/zeros.bin": b"\0" * 50_000_000})
    assert len(bomb) < 200_000
    rejected(bomb, "z.tar.gz", tmp_path / "c", small)
    assert not (tmp_path / "c/unpacked").exists()


def test_entry_count_is_read_before_zipfile_parses(tmp_path: Path) -> None:
    entries: dict[str, str | bytes] = {f"say-hello/f{i}.txt": "" for i in range(150)}
    data = make_zip({**good(), **entries})
    assert _count_zip_entries(data) == 152
    assert "152 entries" in rejected(data, "m.zip", tmp_path)
    assert _count_zip_entries(b"not a zip") == 0


def test_a_huge_central_directory_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    # 60,000 empty entries in about 3 MB: zipfile would build 60,000 ZipInfo objects
    entries: dict[str, str | bytes] = {f"{i}": "" for i in range(60_000)}
    data = make_zip({**good(), **entries}, method=zipfile.ZIP_STORED)
    tracemalloc.start()
    try:
        message = rejected(data, "huge.zip", tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "60002 entries" in message
    assert peak < 2_000_000  # the ZipInfo objects alone would take tens of MB


def test_no_skill_and_wrong_type(tmp_path: Path) -> None:
    assert "no SKILL.md" in rejected(make_zip({"README.md": "hi"}), "r.zip", tmp_path)
    assert "upload a .zip" in rejected(b"x", "skill.rar", tmp_path)
    assert "not a valid zip" in rejected(b"PK\x03\x04 not really", "e.zip", tmp_path)
