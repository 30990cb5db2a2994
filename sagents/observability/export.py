"""A session as JSON lines: what happened, in order, for audits, evals and
bug reports.

One JSON object per line, each with a ``record`` field saying what it is:

- ``session``: id, owner, title, status, times.
- ``run`` (one per run, oldest first): run id, ``trace_id``, status, input,
  options (the resolved flags), token usage, error, times. Then
- ``event`` lines: every event of that run, in ``seq`` order, exactly as
  streamed (``route.decided`` is the routing decision, ``usage`` each LLM
  call's tokens, ``context.clamped`` what history preparation dropped), or
  one ``events_unavailable`` line saying why they are not kept; then
- ``message`` lines: the run's stored messages (these survive restarts).
- ``task`` lines: the session's tasks, last.

Events come from the run registry's log while it keeps the run (a run
still going is exported up to its latest event), else from the store's
durable event log (after a restart, or a run another replica executed).
Every string goes through the Runtime's ``Redactor``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from enum import Enum
from typing import TYPE_CHECKING, Any

from sagents.runs.channel import EventsDropped

if TYPE_CHECKING:
    from sagents.runtime import Runtime
    from sagents.store.records import RunRecord, SessionRecord


async def export_session(rt: Runtime, session: SessionRecord) -> AsyncIterator[bytes]:
    """The session's lines (each ending in ``\\n``), as bytes, streamed."""
    redact = rt.redactor.value
    yield _line(redact({"record": "session", **_plain(session), "session_id": session.id}))
    messages = await rt.store.list_messages(session.id)
    by_run: dict[str | None, list[Any]] = {}
    for message in messages:
        by_run.setdefault(message.run_id, []).append(message)
    for run in sorted(await rt.store.list_runs(session.id), key=lambda r: r.started_at):
        events, unavailable = await _events(rt, run)
        trace_id = events[0].get("trace_id") if events else None
        yield _line(redact(_run_line(run, trace_id)))
        for event in events:
            yield _line(redact({"record": "event", **event}))
        if unavailable is not None:
            yield _line({"record": "events_unavailable", "run_id": run.id, "reason": unavailable})
        for message in by_run.pop(run.id, []):
            yield _line(redact({"record": "message", **_plain(message), "message_id": message.id}))
    for orphans in by_run.values():  # messages written outside any run (imports)
        for message in orphans:
            yield _line(redact({"record": "message", **_plain(message), "message_id": message.id}))
    for task in await rt.store.list_tasks(session.id):
        yield _line(redact({"record": "task", **_plain(task), "task_id": task.id}))


def _run_line(run: RunRecord, trace_id: str | None) -> dict[str, Any]:
    return {
        "record": "run",
        "session_id": run.session_id,
        "run_id": run.id,
        "trace_id": trace_id,
        "status": str(run.status),
        "input": run.input,
        "options": run.options,
        "usage": {"input_tokens": run.input_tokens, "output_tokens": run.output_tokens},
        "answer": run.answer,
        "error": run.error,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
    }


async def _events(rt: Runtime, run: RunRecord) -> tuple[list[dict[str, Any]], str | None]:
    """The run's events as dicts, or why there are none."""
    runs = rt.runs
    info = runs.get(run.id)
    if info is None:
        return await _stored_events(rt, run)
    last = runs.last_seq(run.id)
    out: list[dict[str, Any]] = []
    try:
        if last == 0:
            return [], None
        async for event in runs.subscribe(run.id):
            out.append(event.model_dump(mode="json"))
            if event.seq >= last:  # a run still going: up to now, not live
                break
    except EventsDropped:
        first = runs.first_kept_seq(run.id)
        async for event in runs.subscribe(run.id, first - 1):
            out.append(event.model_dump(mode="json"))
            if event.seq >= last:
                break
        return out, f"events before {first} were dropped by SAGE_RUN_LOG_MAX_BYTES"
    return out, None


async def _stored_events(rt: Runtime, run: RunRecord) -> tuple[list[dict[str, Any]], str | None]:
    """The run's events from the store's event log, page by page."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await rt.store.read_events(run.id, after, 500)
        if not page:
            break
        out.extend(json.loads(row.data) for row in page)
        after = page[-1].seq
    if not out:
        return [], "not stored: the event log has no events of this run"
    first = int(out[0].get("seq", 1))
    if first > 1:
        return out, f"events before {first} were dropped by SAGE_RUN_LOG_MAX_BYTES"
    return out, None


def _plain(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    for key, value in data.items():
        if isinstance(value, Enum):
            data[key] = value.value
    data.pop("id", None)
    return data


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
