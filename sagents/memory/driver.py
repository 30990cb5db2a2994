"""The storage interface behind ``UserMemoryManager``.

Every method takes the user id, and a driver must answer only from that
user's memories: isolation is the driver's job, not its callers', so no bug
above it (a wrong id in a route, a missing filter) can leak memories.
"""

from __future__ import annotations

from typing import Protocol

from sagents.memory.records import Memory, MemoryHit


class MemoryUnavailable(Exception):
    """The store behind the driver does not answer (a Chroma server that is
    down or hung): the caller's request fails with 503, a run goes on without
    recalled memories."""


class MemoryDriver(Protocol):
    async def add(self, memory: Memory) -> None: ...

    async def search(self, user_id: str, query: str, k: int) -> list[MemoryHit]:
        """The ``k`` memories of ``user_id`` nearest to ``query``, nearest first."""
        ...

    async def get(self, user_id: str, memory_id: str) -> Memory | None: ...

    async def delete(self, user_id: str, memory_id: str) -> bool:
        """False when ``user_id`` has no such memory (someone else's looks the same)."""
        ...

    async def list(self, user_id: str) -> list[Memory]:
        """All of ``user_id``'s memories, oldest first."""
        ...

    async def aclose(self) -> None: ...
