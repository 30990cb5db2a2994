"""The caller's long-term memory: list, search, forget.

Every call passes the caller's user id down to the memory driver, which
answers from that user's memories only; another user's memory id therefore
looks exactly like a missing one (404).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import error_responses
from app.schemas import RecordOut
from sagents.memory import MemoryUnavailable, UserMemoryManager
from sagents.runtime import Runtime
from sagents.wire_types import JsonInt, Utf8Str

router = APIRouter(prefix="/api/v1/memory", tags=["memory"])
log = logging.getLogger(__name__)

User = Annotated[str, Depends(current_user)]
Rt = Annotated[Runtime, Depends(runtime)]


class MemoryOut(RecordOut):
    id: str
    text: str
    kind: str
    source: str
    created_at: float


class MemoryHitOut(MemoryOut):
    distance: float


class MemorySearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Utf8Str = Field(min_length=1, max_length=4000)
    k: JsonInt = Field(default=5, ge=1, le=50)


def _memory(rt: Runtime) -> UserMemoryManager:
    if rt.memory is None:
        raise ApiError(503, "memory_disabled", "long-term memory is disabled (SAGE_MEMORY_ENABLED)")
    return rt.memory


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    """A memory store that does not answer is a 503; where it lives (a
    server's address) goes to the log, not to the client."""
    try:
        yield
    except MemoryUnavailable as exc:
        log.warning("memory request failed: %s", exc)
        raise ApiError(
            503, "memory_unavailable", "long-term memory is unavailable: its store does not answer"
        ) from exc


@router.get("", responses=error_responses(503))
async def list_memories(user: User, rt: Rt) -> list[MemoryOut]:
    with _answering():
        return [MemoryOut.of(m) for m in await _memory(rt).list(user)]


@router.post("/search", responses=error_responses(503))
async def search_memories(body: MemorySearch, user: User, rt: Rt) -> list[MemoryHitOut]:
    with _answering():
        hits = await _memory(rt).recall(user, body.query, body.k)
    return [MemoryHitOut.of(h.memory, distance=h.distance) for h in hits]


@router.delete("/{memory_id}", status_code=204, responses=error_responses(404, 503))
async def forget_memory(memory_id: str, user: User, rt: Rt) -> None:
    with _answering():
        found = await _memory(rt).forget(user, memory_id)
    if not found:
        raise not_found("memory", memory_id)
