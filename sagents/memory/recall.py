"""Context preparation at the start of a run: the history preparer and the
user's most relevant memories are attached to the SessionContext.

Memories are recalled once per run (the request does not change within it)
and become a section of every agent's system prompt; ``memory.recalled``
says how many. A memory store that fails is logged and the run goes on
without memories: recall must never fail a run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sagents.context.session_context import SessionContext
from sagents.events import Emit, MemoryRecalled
from sagents.memory.manager import render_memories

if TYPE_CHECKING:
    from sagents.runtime import Runtime

log = logging.getLogger(__name__)

WARM_AT = 200
"""From this many messages, the history is indexed in a worker thread before
the first agent asks for it (below it, indexing takes a few milliseconds)."""


async def prepare_context(
    ctx: SessionContext,
    emit: Emit,
    runtime: Runtime,
) -> None:
    ctx.history = runtime.history
    ctx.control.emit = emit
    if ctx.history is not None and len(ctx.messages) > WARM_AT:
        model = ctx.llm.model_for("simple")
        await asyncio.to_thread(ctx.history.warm, ctx.session_id, ctx.messages.messages, model)
    memory = runtime.memory
    recall_k = runtime.settings.memory_recall_k
    if memory is None or recall_k <= 0:
        return
    try:
        if ctx.telemetry is None:
            hits = await memory.recall(ctx.user_id, ctx.user_input, recall_k)
        else:
            with ctx.telemetry.step("memory.recall", **{"sage.memory.k": recall_k}) as span:
                hits = await memory.recall(ctx.user_id, ctx.user_input, recall_k)
                span.set_attribute("sage.memory.recalled", len(hits))
    except Exception:
        log.warning("memory recall failed for run %s", ctx.run_id, exc_info=True)
        return
    if hits:
        ctx.prompt.memory_section = render_memories(hits)
        emit(MemoryRecalled(count=len(hits)))
