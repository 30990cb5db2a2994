"""HTTP request and response models (the edge, so pydantic throughout)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from sagents.request import RunRequest


class RecordOut(BaseModel):
    """A response model filled from a record's attributes of the same names,
    so each one is declared once, as its fields, with no copying code."""

    @classmethod
    def of(cls, record: object, **extra: Any) -> Self:
        """``record`` as this model; ``extra`` gives fields the record lacks."""
        data = {
            name: getattr(record, name)
            for name in cls.model_fields
            if name not in extra and hasattr(record, name)
        }
        return cls.model_validate({**data, **extra})


class ChatRequest(RunRequest):
    on_disconnect: Literal["cancel", "continue"] = Field(
        default="cancel",
        description="What happens to the run when the client closes the stream: "
        "'cancel' stops it; 'continue' lets it finish (resume with the events endpoint).",
    )


class SessionOut(RecordOut):
    id: str
    title: str
    status: str
    created_at: float
    updated_at: float
    active_run_id: str | None = None


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class RunOut(RecordOut):
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


class SessionDetail(SessionOut):
    runs: list[RunOut]


class MessageOut(RecordOut):
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


class CancelOut(BaseModel):
    session_id: str
    run_id: str
    cancelled: bool


class TaskOut(RecordOut):
    id: str
    title: str
    description: str
    status: str
    depends_on: list[str]
    result: str
    run_id: str | None
    created_at: float
    updated_at: float


class FlowOut(BaseModel):
    name: str
    graph: dict[str, Any]
    mermaid: str
