"""What the memory of one user is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sagents.store.records import new_id, now

MAX_MEMORY_CHARS = 1000
"""A memory is one durable statement, not a document."""


class MemoryKind(StrEnum):
    PREFERENCE = "preference"
    """How the user wants things done ("answers in French")."""
    PERSONA = "persona"
    """Who the user is ("a data engineer in Berlin")."""
    FACT = "fact"
    """Something durable about the user's world ("their team uses Postgres 16")."""
    REQUIREMENT = "requirement"
    """A standing constraint ("never use paid APIs")."""


@dataclass(slots=True)
class Memory:
    user_id: str
    text: str
    kind: MemoryKind
    source: str = "user"
    """Where it came from: ``user`` (said explicitly) or ``extracted:<run id>``."""
    id: str = field(default_factory=lambda: new_id("mem"))
    created_at: float = field(default_factory=now)


@dataclass(slots=True, frozen=True)
class MemoryHit:
    memory: Memory
    distance: float
    """Cosine distance to the query: 0 is identical, 2 is opposite."""
