"""``POST /api/v1/agui``: a Sage run as an AG-UI event stream.

Takes the protocol's ``RunAgentInput`` and answers Server-Sent Events
encoded by the ``ag-ui-protocol`` package's ``EventEncoder``, mapped from
Sage's events by ``app.agui.mapper`` (docs/agui.md). A client that goes away
cancels the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from ag_ui.core import RunAgentInput
from ag_ui.encoder import EventEncoder
from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from app import ephemeral
from app.agui.input import read_turn, system_context
from app.agui.mapper import AguiMapper
from app.deps import runtime, sagent
from app.errors import ApiError
from app.identity import current_user
from app.routes.chat import SSE_RESPONSES
from sagents.flow.catalog import FlowError
from sagents.request import RunRequest
from sagents.runs.registry import RunInfo, SessionBusy
from sagents.runtime import Runtime
from sagents.sagent import SAgent, UnknownNames

router = APIRouter(prefix="/api/v1", tags=["agui"])

TITLE_PREFIX = "[ag-ui] "


@router.post("/agui", response_class=EventSourceResponse, responses=SSE_RESPONSES)
async def agui_run(
    body: RunAgentInput,
    request: Request,
    user: Annotated[str, Depends(current_user)],
    rt: Annotated[Runtime, Depends(runtime)],
    agent: Annotated[SAgent, Depends(sagent)],
) -> EventSourceResponse:
    """Run one turn. ``thread_id`` naming one of your sessions continues it;
    any other thread is stateless (its messages are the history)."""
    turn = read_turn(body, rt.settings.max_message_bytes)
    context = system_context(body, turn)
    throwaway: str | None = None
    if await rt.store.get_session(user, body.thread_id) is not None:
        session_id = body.thread_id
    else:
        session_id = throwaway = await ephemeral.open_session(
            rt, user, TITLE_PREFIX + turn.message.strip(), turn.history
        )
    run = RunRequest(message=turn.message, session_id=session_id, system_context=context)
    try:
        info = await agent.start(run, user, traceparent=request.headers.get("traceparent"))
    except (SessionBusy, UnknownNames, FlowError) as exc:
        if throwaway is not None:
            await rt.store.delete_session(user, throwaway)
        status, kind = (
            (409, "session_busy") if isinstance(exc, SessionBusy) else (422, "validation_error")
        )
        raise ApiError(status, kind, str(exc)) from None
    encoder = EventEncoder(accept=request.headers.get("accept", "text/event-stream"))
    return EventSourceResponse(
        _stream(rt, info, AguiMapper(body.thread_id, body.run_id), encoder, user, throwaway),
        ping=rt.settings.sse_ping_s,
        media_type=encoder.get_content_type(),
        headers={
            "X-Session-Id": info.session_id,
            "X-Run-Id": info.run_id,
            "X-Trace-Id": info.trace_id,
            "Cache-Control": "no-cache",
        },
    )


async def _stream(
    rt: Runtime,
    info: RunInfo,
    mapper: AguiMapper,
    encoder: EventEncoder,
    user: str,
    throwaway: str | None,
) -> AsyncIterator[bytes]:
    completed = False
    try:
        async for batch in rt.runs.subscribe_batches(info.run_id):
            text = "".join(encoder.encode(out) for event in batch for out in mapper.map(event))
            if text:
                yield text.encode()
        completed = True
    finally:
        await ephemeral.end_request(rt, info, completed, user, throwaway)
