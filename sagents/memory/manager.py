"""UserMemoryManager: what Sage remembers about each user, across sessions."""

from __future__ import annotations

from sagents.framing import framed, inert_text
from sagents.memory.driver import MemoryDriver
from sagents.memory.records import MAX_MEMORY_CHARS, Memory, MemoryHit, MemoryKind
from sagents.settings import Settings


class UserMemoryManager:
    """Validates and delegates to a driver, which enforces per-user isolation."""

    def __init__(self, driver: MemoryDriver) -> None:
        self.driver = driver

    @classmethod
    def from_settings(cls, settings: Settings) -> UserMemoryManager:
        """ChromaDB with the offline MiniLM embedder: embedded in the data
        directory, or the server at ``SAGE_CHROMA_URL``."""
        from sagents.memory.chroma import ChromaMemoryDriver
        from sagents.memory.embeddings import MiniLMEmbedder

        if settings.chroma_url:
            driver = ChromaMemoryDriver(MiniLMEmbedder(), url=settings.chroma_url)
        else:
            driver = ChromaMemoryDriver(MiniLMEmbedder(), path=settings.data_dir / "chroma")
        return cls(driver)

    async def remember(
        self, user_id: str, text: str, kind: MemoryKind | str, source: str = "user"
    ) -> Memory:
        text = " ".join(text.split())
        if not text:
            raise ValueError("a memory needs some text")
        if len(text) > MAX_MEMORY_CHARS:
            raise ValueError(f"a memory is at most {MAX_MEMORY_CHARS} characters")
        memory = Memory(user_id=user_id, text=text, kind=MemoryKind(kind), source=source)
        await self.driver.add(memory)
        return memory

    async def recall(self, user_id: str, query: str, k: int = 5) -> list[MemoryHit]:
        """The ``k`` memories most relevant to ``query``, most relevant first."""
        if k <= 0 or not query.strip():
            return []
        return await self.driver.search(user_id, query, k)

    async def forget(self, user_id: str, memory_id: str) -> bool:
        return await self.driver.delete(user_id, memory_id)

    async def get(self, user_id: str, memory_id: str) -> Memory | None:
        return await self.driver.get(user_id, memory_id)

    async def list(self, user_id: str) -> list[Memory]:
        return await self.driver.list(user_id)

    async def aclose(self) -> None:
        await self.driver.aclose()


def render_memories(hits: list[MemoryHit]) -> str:
    """The system-prompt section for recalled memories.

    Memories come from what users said, so they are framed as data about
    the user, never as instructions to follow blindly.
    """
    lines = "\n".join(f"- ({hit.memory.kind.value}) {hit.memory.text}" for hit in hits)
    return (
        "What you remember about this user from earlier conversations (stored notes; "
        "use them where relevant, and let what the user says now take precedence):\n"
        + framed("user_memory", inert_text(lines))
    )
