"""An MCP server's progress notifications as ``tool.progress`` events.

A server may send progress as often as it likes; the run log keeps every
event, so at most one every ``MIN_INTERVAL_S`` per call reaches it (the
last one, at 100 %, always does), with the message cut to
``MAX_MESSAGE_CHARS``.
"""

from __future__ import annotations

import math
import time

from mcp.shared.dispatcher import ProgressFnT

from sagents.events import ToolProgress
from sagents.tools.call_scope import CallScope

MIN_INTERVAL_S = 0.2
MAX_MESSAGE_CHARS = 500


def progress_events(scope: CallScope | None) -> ProgressFnT | None:
    """A progress callback emitting events for the call in ``scope``; None
    when no run made the call (nobody to tell)."""
    if scope is None or scope.emit is None:
        return None
    emit = scope.emit
    last = -math.inf

    async def report(progress: float, total: float | None, message: str | None) -> None:
        nonlocal last
        if not math.isfinite(progress) or (total is not None and not math.isfinite(total)):
            return
        now = time.monotonic()
        final = total is not None and progress >= total
        if not final and now - last < MIN_INTERVAL_S:
            return
        last = now
        emit(
            ToolProgress(
                call_id=scope.call_id,
                tool=scope.tool,
                progress=progress,
                total=total,
                message=message[:MAX_MESSAGE_CHARS] if message else None,
                agent=scope.agent,
            )
        )

    return report
