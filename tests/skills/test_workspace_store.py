"""The persisted workspace: calls that ran at the same time are merged file by
file, limits hold after the merge, and nothing in it is ever followed.

The launcher's side is played by ``wsstream.Writer`` over a folder standing
for the sandbox's ``/workspace`` at the end of a call.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sagents.skills import wsstream
from sagents.skills.workspace_store import (
    SaveOutcome,
    WorkspaceStore,
    WorkspaceTooLarge,
    sweep_staging,
)

LIMITS = wsstream.Limits(max_bytes=64 * wsstream.PAGE, max_entries=50)


@pytest.fixture
def store(tmp_path: Path) -> WorkspaceStore:
    return WorkspaceStore(tmp_path / "workspaces" / "ses_1", asyncio.Lock(), LIMITS)


def files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() if p.is_file() else "/"
        for p in sorted(folder.rglob("*"))
    }


Seed = tuple[wsstream.Listing, wsstream.Identities]
"""What the server listed, and what the launcher unpacked (for its ``U`` records)."""


async def start(store: WorkspaceStore, tmp_path: Path, name: str) -> tuple[Seed, Path]:
    """A call starting: the snapshot, unpacked where its script would see it."""
    seed = io.BytesIO()
    listing = await store.snapshot(seed)
    seed.seek(0)
    sandbox = tmp_path / f"sandbox-{name}"
    sandbox.mkdir()
    unpacked: wsstream.Identities = {}
    root = os.open(sandbox, os.O_RDONLY | os.O_DIRECTORY)
    try:
        wsstream.read_stream(seed, root, LIMITS, unpacked)
    finally:
        os.close(root)
    return (listing, unpacked), sandbox


async def finish(store: WorkspaceStore, seed: Seed, sandbox: Path, **status: Any) -> SaveOutcome:
    """A call ending: its folder as the launcher would stream it, then the merge."""
    listing, unpacked = seed
    with tempfile.TemporaryFile() as result:
        writer = wsstream.Writer(result, wsstream.Limits(1 << 30, 10_000))
        root = os.open(sandbox, os.O_RDONLY | os.O_DIRECTORY)
        try:
            writer.add_tree(root, frozenset({".tmp"}), unpacked)
        finally:
            os.close(root)
        writer.status({"saved": True, "exit": 0, **status})
        writer.end()
        return await store.save(result, listing)


async def save_raw(store: WorkspaceStore, seed: wsstream.Listing, data: bytes) -> SaveOutcome:
    with tempfile.TemporaryFile() as result:
        result.write(data)
        return await store.save(result, seed)


async def test_concurrent_calls_are_merged_file_by_file(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    seed0, box0 = await start(store, tmp_path, "setup")
    for name in ("x.txt", "y.txt", "z.txt"):
        (box0 / name).write_text("orig")
    (box0 / "old").mkdir()
    (box0 / "old" / "gone.txt").write_text("orig")
    assert (await finish(store, seed0, box0)).saved

    seed_a, box_a = await start(store, tmp_path, "a")
    seed_b, box_b = await start(store, tmp_path, "b")
    (box_a / "a.txt").write_text("from a")  # new in A
    (box_b / "b.txt").write_text("from b")  # new in B
    (box_a / "x.txt").write_text("a changed x")  # only A changes x
    (box_a / "z.txt").write_text("a changed z")  # both change z: the later one wins
    (box_b / "z.txt").write_text("b changed z")
    (box_a / "y.txt").unlink()  # A deletes y, B changes it: B's change stays
    (box_b / "y.txt").write_text("b changed y")
    shutil.rmtree(box_a / "old")  # A deletes a folder nobody else touched
    assert (await finish(store, seed_a, box_a)).saved
    assert (await finish(store, seed_b, box_b)).saved

    assert files(store.root) == {
        "a.txt": "from a",
        "b.txt": "from b",
        "x.txt": "a changed x",
        "y.txt": "b changed y",
        "z.txt": "b changed z",
    }


async def test_a_call_deleting_an_unchanged_file_deletes_it(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    seed, box = await start(store, tmp_path, "setup")
    (box / "y.txt").write_text("orig")
    await finish(store, seed, box)
    seed, box = await start(store, tmp_path, "delete")
    (box / "y.txt").unlink()
    assert (await finish(store, seed, box)).saved
    assert files(store.root) == {}


async def test_the_limits_hold_after_merging(store: WorkspaceStore, tmp_path: Path) -> None:
    seed_a, box_a = await start(store, tmp_path, "a")
    seed_b, box_b = await start(store, tmp_path, "b")
    (box_a / "a.bin").write_bytes(b"a" * 40 * wsstream.PAGE)
    (box_b / "b.bin").write_bytes(b"b" * 40 * wsstream.PAGE)  # each fits, both do not
    assert (await finish(store, seed_a, box_a)).saved
    outcome = await finish(store, seed_b, box_b)
    assert not outcome.saved and "would exceed" in outcome.reason
    assert files(store.root) == {"a.bin": "a" * 40 * wsstream.PAGE}


async def test_a_full_workspace_keeps_nothing_of_the_call(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    seed, box = await start(store, tmp_path, "a")
    (box / "partial.txt").write_text("x")
    outcome = await finish(store, seed, box, full=True)
    assert not outcome.saved and outcome.full
    assert not store.root.exists() or files(store.root) == {}


async def test_a_call_that_did_not_save_changes_nothing(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    seed, box = await start(store, tmp_path, "a")
    (box / "x.txt").write_text("x")
    outcome = await finish(store, seed, box, saved=False, error="killed")
    assert not outcome.saved and outcome.reason == "killed"
    assert not store.root.exists() or files(store.root) == {}


async def test_a_garbage_result_is_refused(store: WorkspaceStore, tmp_path: Path) -> None:
    seed = await store.snapshot(io.BytesIO())
    outcome = await save_raw(store, seed, b"SAGEWS1\nF\x00\x02..garbage")
    assert not outcome.saved and "could not be read" in outcome.reason
    assert not list((store.root.parent / ".staging").iterdir())  # staging cleaned up


async def test_an_unchanged_record_for_a_path_never_seeded_keeps_nothing(
    store: WorkspaceStore,
) -> None:
    seed = await store.snapshot(io.BytesIO())
    ghost = wsstream.MAGIC + struct.pack(">cH", b"U", 5) + b"ghost"
    status = b'{"saved": true, "exit": 0}'
    tail = struct.pack(">cH", b"S", 0) + struct.pack(">I", len(status)) + status
    outcome = await save_raw(store, seed, ghost + tail + struct.pack(">cH", b"E", 0))
    assert outcome.saved
    assert not (store.root / "ghost").exists()


async def test_links_in_an_old_workspace_are_skipped_and_replaced_never_followed(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    store.root.mkdir(parents=True)
    (store.root / "skills").symlink_to(outside)  # what the attack of the report left
    (store.root / "file-link").symlink_to(outside / "secret.txt")
    seed, box = await start(store, tmp_path, "a")
    assert files(box) == {}  # the snapshot carries neither link nor what it points to
    (box / "skills").mkdir()
    (box / "skills" / "new.txt").write_text("mine")
    (box / "file-link").write_text("replaced")
    assert (await finish(store, seed, box)).saved
    assert files(outside) == {"secret.txt": "secret"}
    assert not (store.root / "skills").is_symlink()
    assert (store.root / "skills" / "new.txt").read_text() == "mine"
    assert not (store.root / "file-link").is_symlink()
    await store.delete()
    assert not store.root.exists() and files(outside) == {"secret.txt": "secret"}


async def test_a_workspace_over_the_limits_is_refused_at_the_start(
    store: WorkspaceStore,
) -> None:
    store.root.mkdir(parents=True)
    for index in range(60):
        (store.root / f"f{index}").write_text("x")
    with pytest.raises(WorkspaceTooLarge, match="over the sandbox's limits"):
        await store.snapshot(io.BytesIO())


def test_staging_left_by_a_dead_server_is_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    staging = tmp_path / ".staging"
    (staging / f"{dead.pid}-save-left").mkdir(parents=True)
    (staging / f"{dead.pid}-save-left" / "f").write_text("x")
    (staging / f"{os.getpid()}-save-mine").mkdir()
    assert sweep_staging(staging) == 1
    assert [p.name for p in staging.iterdir()] == [f"{os.getpid()}-save-mine"]
