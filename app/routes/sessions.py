"""Sessions: list, read, delete, cancel, and resume a run's event stream.

Every lookup goes through the store with the caller's user id, so another
user's session is indistinguishable from a missing one (404).
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.last_event_id import EVENT_ID_PATTERN, parse_last_event_id
from app.openapi_errors import error_responses
from app.routes.chat import SSE_RESPONSES
from app.schemas import (
    CancelOut,
    MessageOut,
    RunOut,
    SessionDetail,
    SessionOut,
    SessionPage,
    TaskOut,
)
from app.sse import EventStream, frames
from sagents.observability.export import export_session
from sagents.resume import cancel_waiting_run
from sagents.runs.replay import stored_batches
from sagents.runtime import Runtime
from sagents.store.records import RunStatus, SessionRecord, SessionStatus, new_id
from sagents.wire_types import Utf8Str

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

User = Annotated[str, Depends(current_user)]
Rt = Annotated[Runtime, Depends(runtime)]
NOT_FOUND = error_responses(404)
MAX_OFFSET = 2**62
"""Beyond any real count, and within SQLite's 64-bit integers."""


async def _own_session(rt: Runtime, user: str, session_id: str) -> SessionRecord:
    session = await rt.store.get_session(user, session_id)
    if session is None:
        raise not_found("session", session_id)
    return session


async def _active_run_id(rt: Runtime, session_id: str) -> str | None:
    """The session's running run, on this replica or another."""
    return await rt.runs.find_active(session_id)


async def _shown_active(rt: Runtime, session: SessionRecord) -> str | None:
    """The run a client should follow: the running one, or one that waits
    for an approval although no process runs it (its server restarted):
    its events replay the request, and the decision resumes it."""
    active = await rt.runs.find_active(session.id)
    if active is None and session.status is SessionStatus.WAITING:
        for run in reversed(await rt.store.list_runs(session.id)):
            if run.status is RunStatus.WAITING:
                return run.id
    return active


async def _listed_active(rt: Runtime, session: SessionRecord) -> str | None:
    """This replica's run at once; another replica's only for a session the
    store says is running, so a page costs no lookup per idle session."""
    local = rt.runs.active_for_session(session.id)
    if local is not None:
        return local.run_id
    if session.status in (SessionStatus.RUNNING, SessionStatus.WAITING):
        return await _shown_active(rt, session)
    return None


@router.get("")
async def list_sessions(
    user: User,
    rt: Rt,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SessionPage:
    items, total = await rt.store.list_sessions(user, limit=limit, offset=offset)
    active = [await _listed_active(rt, s) for s in items]
    return SessionPage(
        items=[SessionOut.of(s, active_run_id=a) for s, a in zip(items, active, strict=True)],
        total=total,
        limit=limit,
        offset=offset,
    )


class NewSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Utf8Str = Field(default="", max_length=200)


@router.post("", status_code=201)
async def create_session(user: User, rt: Rt, body: NewSession | None = None) -> SessionOut:
    """An empty session of the caller's, to upload files to before the first
    message (``POST /api/v1/chat`` with its ``session_id`` continues it)."""
    session = SessionRecord(id=new_id("ses"), user_id=user, title=(body.title if body else ""))
    await rt.store.create_session(session)
    return SessionOut.of(session)


@router.get("/{session_id}", responses=NOT_FOUND)
async def get_session(session_id: str, user: User, rt: Rt) -> SessionDetail:
    session = await _own_session(rt, user, session_id)
    runs = await rt.store.list_runs(session_id)
    return SessionDetail.of(
        session,
        active_run_id=await _shown_active(rt, session),
        runs=[RunOut.of(r) for r in runs],
    )


@router.get("/{session_id}/messages", responses=NOT_FOUND)
async def get_messages(session_id: str, user: User, rt: Rt) -> list[MessageOut]:
    await _own_session(rt, user, session_id)
    return [MessageOut.of(m) for m in await rt.store.list_messages(session_id)]


@router.get("/{session_id}/tasks", responses=NOT_FOUND)
async def get_tasks(session_id: str, user: User, rt: Rt) -> list[TaskOut]:
    """The subtasks multi-agent runs created in this session, in creation order."""
    await _own_session(rt, user, session_id)
    return [TaskOut.of(t) for t in await rt.store.list_tasks(session_id)]


@router.get(
    "/{session_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "The session as JSON lines: session, runs with their events "
            "and messages, tasks (sagents/observability/export.py).",
        },
        **NOT_FOUND,
    },
)
async def export(session_id: str, user: User, rt: Rt) -> StreamingResponse:
    """The session as JSON lines, secrets redacted."""
    session = await _own_session(rt, user, session_id)
    return StreamingResponse(
        export_session(rt, session),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{session_id}.jsonl"'},
    )


@router.delete("/{session_id}", status_code=204, responses=error_responses(404, 409))
async def delete_session(session_id: str, user: User, rt: Rt) -> None:
    await _own_session(rt, user, session_id)
    active = await _active_run_id(rt, session_id)
    if active is not None:
        raise ApiError(409, "session_busy", f"session '{session_id}' is running; cancel it first")
    await rt.store.delete_session(user, session_id)
    if rt.skills is not None:
        with contextlib.suppress(ValueError):  # an id no workspace can have
            await rt.skills.workspace(session_id).delete()


@router.post("/{session_id}/cancel", status_code=202, responses=error_responses(404, 409))
async def cancel_session(session_id: str, user: User, rt: Rt) -> CancelOut:
    """Ask the running run to stop. The stream then ends with ``run.cancelled``."""
    session = await _own_session(rt, user, session_id)
    active = await _active_run_id(rt, session_id)
    if active is None and session.status is SessionStatus.WAITING:
        # A run waiting for an approval whose server stopped: no process
        # runs it, so it is ended here.
        for run in await rt.store.list_runs(session_id):
            if run.status is RunStatus.WAITING and await cancel_waiting_run(rt, session, run):
                return CancelOut(session_id=session_id, run_id=run.id, cancelled=True)
    if active is None:
        raise ApiError(409, "not_running", f"session '{session_id}' has no running run")
    cancelled = await rt.runs.request_cancel(active, "cancelled by the user")
    return CancelOut(session_id=session_id, run_id=active, cancelled=cancelled)


@router.get(
    "/{session_id}/runs/{run_id}/events",
    response_class=EventStream,
    responses=SSE_RESPONSES | error_responses(404, 410),
)
async def run_events(
    session_id: str,
    run_id: str,
    user: User,
    rt: Rt,
    last_event_id: Annotated[
        str,
        Header(
            description="The number of the last event seen (decimal, up to 18 digits).",
            json_schema_extra={"pattern": EVENT_ID_PATTERN},
        ),
    ] = "",
    after: Annotated[
        str,
        Query(
            description="Same as the Last-Event-ID header.",
            json_schema_extra={"pattern": EVENT_ID_PATTERN},
        ),
    ] = "",
) -> EventStream:
    """Replay the run's events after ``Last-Event-ID``, then follow it live.

    A run this process does not hold in memory (it ran before a restart, or
    on another replica) is read from the durable event log."""
    await _own_session(rt, user, session_id)
    if await rt.store.get_run(session_id, run_id) is None:
        raise not_found("run", run_id)
    # Both are checked: an invalid ``after`` is a 400 even when the header
    # (which wins) is valid, as the OpenAPI document promises.
    from_query = parse_last_event_id(after)
    start = parse_last_event_id(last_event_id) if last_event_id else from_query
    info = rt.runs.get(run_id)
    if info is None or info.session_id != session_id:
        # Not in this process's memory (a restart, past run_retention_s, or
        # another replica runs it): the durable event log has it.
        return await _stored_events(rt, session_id, run_id, start)
    first_kept = rt.runs.first_kept_seq(run_id)
    if start + 1 < first_kept:
        # Before what this process holds. A run resumed after an approval
        # holds only its new events; the stored log has the earlier ones.
        bounds = await rt.store.event_bounds(run_id)
        if bounds is not None and bounds[0] <= start + 1:
            return await _stored_events(rt, session_id, run_id, start)
    _check_resume(run_id, start, first_kept)
    last = rt.runs.last_seq(run_id)
    if info.finished and start > last:
        raise _past_end(start, last)
    return EventStream(frames(rt.runs.subscribe_batches(run_id, start)), rt.settings)


async def _stored_events(rt: Runtime, session_id: str, run_id: str, start: int) -> EventStream:
    async def running() -> bool:
        run = await rt.store.get_run(session_id, run_id)
        return run is not None and run.status in (RunStatus.RUNNING, RunStatus.WAITING)

    bounds = await rt.store.event_bounds(run_id)
    if bounds is None:
        # A run that has just started on another replica may have written
        # nothing yet (its first batch is at most SAGE_EVENT_LOG_FLUSH_S
        # away): follow it. An ended run with no log has nothing to give.
        if not await running():
            raise ApiError(
                410,
                "events_expired",
                f"the events of run '{run_id}' are no longer kept; "
                "read the session's messages instead",
            )
    else:
        first, last = bounds
        _check_resume(run_id, start, first)
        if start > last and not await running():
            raise _past_end(start, last)

    async def more(at_most_s: float) -> None:
        await rt.runs.wait_for_events(run_id, at_most_s)

    # Woken by the owner's announcements where there are any (Redis); the
    # poll interval only bounds the wait when one is lost.
    batches = stored_batches(
        rt.store, run_id, start, running=running, wait=more, poll_s=rt.settings.event_log_flush_s
    )
    return EventStream(frames(batches), rt.settings)


def _past_end(start: int, last: int) -> ApiError:
    return ApiError(
        400, "bad_last_event_id", f"Last-Event-ID {start} is past this run's last event ({last})"
    )


def _check_resume(run_id: str, start: int, first_kept: int) -> None:
    if start + 1 < first_kept:
        raise ApiError(
            410,
            "events_dropped",
            f"events {start + 1}–{first_kept - 1} of run '{run_id}' are no longer kept (the "
            f"run log keeps about SAGE_RUN_LOG_MAX_BYTES per run); resume with Last-Event-ID "
            f"{first_kept - 1} or later, or read the session's messages",
            [
                {
                    "field": "Last-Event-ID",
                    "problem": "before the first event still kept",
                    "first_kept_seq": first_kept,
                }
            ],
        )
