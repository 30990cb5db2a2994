"""One deadline for all the reads of an LLM stream.

The guarantee: a stream still being read at ``llm_timeout_s`` after its call
started ends with ``TimeoutError`` at the read it is waiting on (a stalled
provider cannot hold a run). ``asyncio.timeout_at(deadline)`` around each
read gives it too, but builds a context manager, pushes a timer on the
loop's heap and cancels it again for every network read: on a stream of
many small reads (a token each) that was work per token for a timer that
almost never fires. Here one timer is armed per stream; between reads it
only flips a flag.

A timeout spanning the whole read loop is not an option: the loop is an
async generator that yields to its consumer between reads, and a
cancellation fired while the consumer runs (writing to the store, say)
would land in the consumer's code instead of the read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

_T = TypeVar("_T")


class ReadDeadline:
    """Reads of one stream against one deadline (``loop.time()`` clock).

    Use from the task that reads (the stream's consumer); :meth:`close` when
    the stream ends, so the timer does not outlive it.
    """

    __slots__ = ("_expired", "_handle", "_reading")

    def __init__(self, deadline: float) -> None:
        self._reading: asyncio.Task[object] | None = None
        """The task waiting in :meth:`read` now; None between reads."""
        self._expired = False
        self._handle = asyncio.get_running_loop().call_at(deadline, self._expire)

    def _expire(self) -> None:
        self._expired = True
        if self._reading is not None:
            self._reading.cancel()  # the read in progress; read() makes it a TimeoutError

    async def read(self, source: AsyncIterator[_T]) -> _T:
        """``anext(source)``, or ``TimeoutError`` once the deadline passed.

        ``StopAsyncIteration`` passes through. A cancel that comes from
        elsewhere stays a cancel: only the deadline's own one, counted by
        ``uncancel``, is turned into the timeout (as ``asyncio.timeout`` does).
        """
        if self._expired:
            raise TimeoutError
        task = asyncio.current_task()
        assert task is not None  # a coroutine awaited in a task
        self._reading = task
        try:
            return await anext(source)
        except asyncio.CancelledError:
            if self._expired and task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            self._reading = None

    def close(self) -> None:
        self._handle.cancel()
