"""Long-term user memory: UserMemoryManager, its ChromaDB driver, the offline
embedder, and the MemoryExtractor that fills it after finished runs."""

from sagents.memory.driver import MemoryDriver, MemoryUnavailable
from sagents.memory.manager import UserMemoryManager, render_memories
from sagents.memory.records import Memory, MemoryHit, MemoryKind

__all__ = [
    "Memory",
    "MemoryDriver",
    "MemoryHit",
    "MemoryKind",
    "MemoryUnavailable",
    "UserMemoryManager",
    "render_memories",
]
