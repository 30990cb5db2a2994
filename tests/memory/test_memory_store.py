"""UserMemoryManager on real ChromaDB with the offline embedder: isolation
between users and survival across a process restart."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sagents.memory import MemoryKind, UserMemoryManager
from tests.conftest import make_settings


@pytest.fixture
async def memory(tmp_path: Path) -> UserMemoryManager:
    manager = UserMemoryManager.from_settings(make_settings(tmp_path))
    yield manager  # type: ignore[misc]
    await manager.aclose()


async def test_user_b_never_recalls_user_a(memory: UserMemoryManager) -> None:
    a = await memory.remember("alice", "Prefers answers in French", MemoryKind.PREFERENCE)
    await memory.remember("alice", "Works as a data engineer in Berlin", "persona")
    assert await memory.recall("bob", "Prefers answers in French", 10) == []
    assert await memory.list("bob") == []
    assert await memory.get("bob", a.id) is None
    assert await memory.forget("bob", a.id) is False
    await memory.remember("bob", "Likes short answers", "preference")
    bob_hits = await memory.recall("bob", "Which language does the user prefer?", 10)
    assert [h.memory.text for h in bob_hits] == ["Likes short answers"]
    alice_hits = await memory.recall("alice", "Which language should answers be in?", 1)
    assert alice_hits[0].memory.id == a.id and alice_hits[0].memory.user_id == "alice"
    assert await memory.forget("alice", a.id) is True
    assert [m.text for m in await memory.list("alice")] == ["Works as a data engineer in Berlin"]


async def test_validation(memory: UserMemoryManager) -> None:
    with pytest.raises(ValueError):
        await memory.remember("u", "   ", "fact")
    with pytest.raises(ValueError):
        await memory.remember("u", "x", "opinion")
    assert await memory.recall("u", "anything", 5) == []  # nothing stored yet, no error


async def test_memories_survive_a_restart(tmp_path: Path) -> None:
    """Written by one process, read by another."""
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from sagents.memory import UserMemoryManager
        from tests.conftest import make_settings

        async def main():
            m = UserMemoryManager.from_settings(make_settings(Path({str(tmp_path)!r})))
            await m.remember("carol", "Is allergic to peanuts", "fact")
            await m.aclose()

        asyncio.run(main())
        """
    )
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], check=True, timeout=120, cwd=Path.cwd()
    )
    manager = UserMemoryManager.from_settings(make_settings(tmp_path))
    try:
        hits = await manager.recall("carol", "food allergies", 3)
        assert [h.memory.text for h in hits] == ["Is allergic to peanuts"]
        assert hits[0].memory.kind is MemoryKind.FACT
    finally:
        await manager.aclose()
