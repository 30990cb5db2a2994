"""HTTP request and response models (the edge, so pydantic throughout)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sagents.request import RunRequest
from sagents.store.records import MessageRecord, RunRecord, SessionRecord, TaskRecord


class ChatRequest(RunRequest):
    on_disconnect: Literal["cancel", "continue"] = Field(
        default="cancel",
        description="What happens to the run when the client closes the stream: "
        "'cancel' stops it; 'continue' lets it finish (resume with the events endpoint).",
    )


class SessionOut(BaseModel):
    id: str
    title: str
    status: str
    created_at: float
    updated_at: float
    active_run_id: str | None = None

    @classmethod
    def of(cls, s: SessionRecord, active_run_id: str | None = None) -> SessionOut:
        return cls(
            id=s.id,
            title=s.title,
            status=str(s.status),
            created_at=s.created_at,
            updated_at=s.updated_at,
            active_run_id=active_run_id,
        )


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class RunOut(BaseModel):
    id: str
    status: str
    input: str
    options: dict[str, Any]
    answer: str | None
    error: str | None
    input_tokens: int
    output_tokens: int
    started_at: float
    ended_at: float | None

    @classmethod
    def of(cls, r: RunRecord) -> RunOut:
        return cls(
            id=r.id,
            status=str(r.status),
            input=r.input,
            options=r.options,
            answer=r.answer,
            error=r.error,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            started_at=r.started_at,
            ended_at=r.ended_at,
        )


class SessionDetail(SessionOut):
    runs: list[RunOut]


class MessageOut(BaseModel):
    id: str
    role: str
    content: str | None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    run_id: str | None = None
    agent: str | None = None
    kind: str | None = None
    interrupted: bool = False
    created_at: float
    completed_at: float | None = None

    @classmethod
    def of(cls, m: MessageRecord) -> MessageOut:
        return cls(
            id=m.id,
            role=m.role,
            content=m.content,
            tool_calls=m.tool_calls,
            tool_call_id=m.tool_call_id,
            name=m.name,
            run_id=m.run_id,
            agent=m.agent,
            kind=m.kind,
            interrupted=m.interrupted,
            created_at=m.created_at,
            completed_at=m.completed_at,
        )


class CancelOut(BaseModel):
    session_id: str
    run_id: str
    cancelled: bool


class TaskOut(BaseModel):
    id: str
    title: str
    description: str
    status: str
    depends_on: list[str]
    result: str
    run_id: str | None
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, t: TaskRecord) -> TaskOut:
        return cls(
            id=t.id,
            title=t.title,
            description=t.description,
            status=t.status,
            depends_on=t.depends_on,
            result=t.result,
            run_id=t.run_id,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class FlowOut(BaseModel):
    name: str
    graph: dict[str, Any]
    mermaid: str
