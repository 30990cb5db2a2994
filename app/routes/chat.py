"""``POST /api/v1/chat``: start a run and stream its events as SSE."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from app.deps import runtime, sagent
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import error_responses
from app.schemas import ChatRequest
from app.sse import EventStream, frames
from sagents.flow.catalog import FlowError
from sagents.runs.registry import SessionBusy
from sagents.runtime import Runtime
from sagents.sagent import SAgent, SessionNotFound, UnknownNames

router = APIRouter(prefix="/api/v1", tags=["chat"])

SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "The run's events as SSE."}
}


@router.post(
    "/chat", response_class=EventStream, responses=SSE_RESPONSES | error_responses(404, 409)
)
async def chat(
    request: Request,
    body: ChatRequest,
    user: Annotated[str, Depends(current_user)],
    rt: Annotated[Runtime, Depends(runtime)],
    agent: Annotated[SAgent, Depends(sagent)],
) -> EventStream:
    """Run one user turn. The first event is ``run.started`` (with the
    ``session_id`` and ``run_id``); the last is ``run.finished``,
    ``run.cancelled`` or ``run.failed``."""
    size = len(body.message.encode())
    if size > rt.settings.max_message_bytes:
        raise ApiError(
            413,
            "payload_too_large",
            f"message is {size} bytes; the limit is {rt.settings.max_message_bytes}",
        )
    try:
        # A client's W3C traceparent makes the run part of its trace.
        info = await agent.start(body, user, traceparent=request.headers.get("traceparent"))
    except SessionNotFound as exc:
        raise not_found("session", exc.session_id) from None
    except SessionBusy as exc:
        raise ApiError(
            409,
            "session_busy",
            f"session '{exc.session_id}' is already running run '{exc.run_id}'; "
            "cancel it or wait for it to finish",
        ) from None
    except (UnknownNames, FlowError) as exc:
        raise ApiError(422, "validation_error", str(exc)) from None

    def on_close(completed: bool) -> None:
        if not completed and body.on_disconnect == "cancel":
            rt.runs.cancel(info.run_id, "the client disconnected")

    return EventStream(
        frames(rt.runs.subscribe_batches(info.run_id), on_close),
        rt.settings,
        headers={
            "X-Session-Id": info.session_id,
            "X-Run-Id": info.run_id,
            "X-Trace-Id": info.trace_id,
        },
    )
