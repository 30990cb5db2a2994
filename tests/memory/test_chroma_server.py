"""UserMemoryManager on a real Chroma server (``SAGE_CHROMA_URL``): the
memories live on the server, so a second runtime pointing at it recalls
them and nothing is written to the data directory."""

from __future__ import annotations

import uuid
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from sagents.memory import MemoryKind, UserMemoryManager
from sagents.memory.chroma import collection_name
from sagents.runtime import Runtime
from sagents.testing import ScriptedLLM
from tests.conftest import make_settings


async def test_remember_recall_forget_on_the_server(tmp_path: Path, chroma_url: str) -> None:
    user = f"dana-{uuid.uuid4().hex[:8]}"
    writer = UserMemoryManager.from_settings(make_settings(tmp_path / "one", chroma_url=chroma_url))
    try:
        peanuts = await writer.remember(user, "Is allergic to peanuts", MemoryKind.FACT)
        await writer.remember(user, "Prefers answers in French", "preference")
    finally:
        await writer.aclose()
    assert not (tmp_path / "one" / "chroma").exists()  # nothing embedded

    # The server holds them: Chroma's own client sees the user's collection.
    direct = chromadb.HttpClient(
        host="127.0.0.1",
        port=int(chroma_url.rsplit(":", 1)[1]),
        settings=ChromaSettings(anonymized_telemetry=False),
    )
    stored = direct.get_collection(collection_name(user), embedding_function=None)
    assert sorted(stored.get()["documents"] or []) == [
        "Is allergic to peanuts",
        "Prefers answers in French",
    ]

    # A second runtime on another data directory recalls and forgets them.
    other = make_settings(tmp_path / "two", chroma_url=chroma_url)
    runtime = await Runtime.create(other, llm=ScriptedLLM())
    try:
        assert runtime.memory is not None
        hits = await runtime.memory.recall(user, "What must the user not eat?", 1)
        assert [h.memory.id for h in hits] == [peanuts.id]
        assert hits[0].memory.user_id == user and hits[0].memory.kind is MemoryKind.FACT
        assert await runtime.memory.recall(f"{user}-other", "peanuts", 5) == []
        assert await runtime.memory.forget(user, peanuts.id) is True
        assert await runtime.memory.forget(user, peanuts.id) is False
        assert [m.text for m in await runtime.memory.list(user)] == ["Prefers answers in French"]
    finally:
        await runtime.aclose()
    assert stored.get(ids=[peanuts.id])["ids"] == []  # gone from the server too
    assert not (tmp_path / "two" / "chroma").exists()
