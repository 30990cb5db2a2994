"""Conversion between records and rows, for both backends.

Kept apart from the store so the SQL and the column order live side by side:
each ``*_COLUMNS`` tuple is the single source for both the INSERT parameter
order and the SELECT list, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from sagents.store._sql import RowLike
from sagents.store.records import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    StoredEvent,
    TaskRecord,
)

SESSION_COLUMNS = ("id", "user_id", "title", "status", "created_at", "updated_at")
RUN_COLUMNS = (
    "id",
    "session_id",
    "status",
    "input",
    "options",
    "error",
    "answer",
    "input_tokens",
    "output_tokens",
    "started_at",
    "ended_at",
    "owner",
    "lease_until",
)
MESSAGE_COLUMNS = (
    "id",
    "session_id",
    "run_id",
    "role",
    "content",
    "tool_calls",
    "tool_call_id",
    "name",
    "agent",
    "kind",
    "interrupted",
    "created_at",
    "completed_at",
)
TASK_COLUMNS = (
    "id",
    "session_id",
    "title",
    "description",
    "status",
    "depends_on",
    "result",
    "run_id",
    "created_at",
    "updated_at",
)

Row = tuple[Any, ...]


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def select_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table}"


def dump_json(value: Any) -> str:
    """Compact and non-ASCII preserving: these columns are re-read on every
    request that loads history, so smaller text is cheaper to scan."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def session_row(s: SessionRecord) -> Row:
    return (s.id, s.user_id, s.title, s.status.value, s.created_at, s.updated_at)


def session_from(row: RowLike) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        status=SessionStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def run_row(r: RunRecord) -> Row:
    return (
        r.id,
        r.session_id,
        r.status.value,
        r.input,
        dump_json(r.options),
        r.error,
        r.answer,
        r.input_tokens,
        r.output_tokens,
        r.started_at,
        r.ended_at,
        r.owner,
        r.lease_until,
    )


def run_from(row: RowLike) -> RunRecord:
    return RunRecord(
        id=row["id"],
        session_id=row["session_id"],
        status=RunStatus(row["status"]),
        input=row["input"],
        options=json.loads(row["options"]),
        error=row["error"],
        answer=row["answer"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        owner=row["owner"],
        lease_until=row["lease_until"],
    )


def message_row(m: MessageRecord) -> Row:
    # None and [] are different for tool_calls (no calls vs. an empty list the
    # provider sent), so None stays NULL rather than becoming "null" or "[]".
    return (
        m.id,
        m.session_id,
        m.run_id,
        m.role,
        m.content,
        None if m.tool_calls is None else dump_json(m.tool_calls),
        m.tool_call_id,
        m.name,
        m.agent,
        m.kind,
        int(m.interrupted),
        m.created_at,
        m.completed_at,
    )


def message_from(row: RowLike) -> MessageRecord:
    tool_calls = row["tool_calls"]
    return MessageRecord(
        id=row["id"],
        session_id=row["session_id"],
        run_id=row["run_id"],
        role=row["role"],
        content=row["content"],
        tool_calls=None if tool_calls is None else json.loads(tool_calls),
        tool_call_id=row["tool_call_id"],
        name=row["name"],
        agent=row["agent"],
        kind=row["kind"],
        interrupted=bool(row["interrupted"]),
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


def task_row(t: TaskRecord) -> Row:
    return (
        t.id,
        t.session_id,
        t.title,
        t.description,
        t.status,
        dump_json(t.depends_on),
        t.result,
        t.run_id,
        t.created_at,
        t.updated_at,
    )


def task_from(row: RowLike) -> TaskRecord:
    return TaskRecord(
        id=row["id"],
        session_id=row["session_id"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        depends_on=json.loads(row["depends_on"]),
        result=row["result"],
        run_id=row["run_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


EVENT_COLUMNS = ("run_id", "seq", "type", "data")


def event_row(e: StoredEvent) -> Row:
    return (e.run_id, e.seq, e.type, e.data)


def event_from(row: RowLike) -> StoredEvent:
    return StoredEvent(run_id=row["run_id"], seq=row["seq"], type=row["type"], data=row["data"])
