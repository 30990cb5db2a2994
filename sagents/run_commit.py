"""A run's first commit, overlapped with its first LLM call.

A run's first write (``Store.begin_run``: the run's row with its lease, the
session's status, the user message; for a new session the session itself)
used to be awaited before anything else of the run, so every turn paid one
commit before its first LLM request went out. Now the write is submitted
(:meth:`RunCommit.start`) and the run goes on; the run's LLM
(:class:`AfterCommitChatModel`) sends each request at once but hands out the
first chunk of an answer only once that write committed. The commit thus
overlaps the request and the wait for the first token, and the rule stays
what it was: nothing the LLM said is seen (published, stored, acted on as a
tool call) before the run's row and user message are durable.

What may go out before the commit: the events that precede every LLM call
(``run.started``, ``agent.started``, a router's ``route.decided`` when the
request named the path, ``memory.recalled``), as ``run.started`` already did
before the write was awaited. Writes are ordered by the store's batch
writer: every later write of the run (a message, the run's end) commits after
this one, or fails with it. A kill -9 before the commit leaves no trace of
the run in the store (recovery has nothing to do), as before; only an LLM
request may have gone out for nothing.

If the write fails, the first chunk of every LLM call of the run raises its
error instead, as does :meth:`RunCommit.wait`, which the run awaits before its
end: the run fails as it did when the write was awaited first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any

from sagents.llm.types import ChatModel, LLMChunk, LLMRequest

if TYPE_CHECKING:
    from sagents.llm.capabilities import Capabilities

log = logging.getLogger(__name__)


class RunCommit:
    """The run's first write, in flight."""

    def __init__(self) -> None:
        self._task: asyncio.Future[None] | None = None

    def start(self, write: Coroutine[Any, Any, None]) -> None:
        """Submit ``write`` (``Store.begin_run``) and go on without waiting."""
        task = asyncio.ensure_future(write)
        task.add_done_callback(_retrieved)
        self._task = task

    @property
    def committed(self) -> bool:
        """Whether the write has committed (not merely ended: a failed one
        still has its error to give)."""
        task = self._task
        return (
            task is not None and task.done() and not task.cancelled() and task.exception() is None
        )

    async def wait(self) -> None:
        """Until the write committed (its error, if it failed). Shielded: a
        cancelled waiter stops waiting, never the write."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        elif self._task is not None:
            self._task.result()


def _retrieved(task: asyncio.Future[None]) -> None:
    """A failed write whose run never waited for it (cancelled first) is
    logged here, not as "exception never retrieved"."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.debug("a run's first write failed: %r", exc)


class AfterCommitChatModel:
    """``inner``, whose answers start only once the run's first write committed."""

    def __init__(self, inner: ChatModel, commit: RunCommit) -> None:
        self.inner = inner
        self.capabilities: Capabilities = inner.capabilities
        self._commit = commit

    def model_for(self, role: str) -> str:
        return self.inner.model_for(role)

    async def aclose(self) -> None:
        """The wrapped model belongs to the Runtime, which closes it."""

    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        # Once the write has committed (every call after the run's first,
        # usually), the inner stream is handed out as it is: no extra
        # generator between the model and the run on every chunk.
        if self._commit.committed:
            return self.inner.stream(request)
        return self._after_commit(request)

    async def _after_commit(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        chunks = self.inner.stream(request)
        try:
            # The request goes out and its first chunk arrives while the
            # run's first write commits; the chunk waits for that commit.
            first = await anext(chunks, None)
            await self._commit.wait()
            if first is None:
                return
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
